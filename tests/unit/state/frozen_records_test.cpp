// frozen_records: records found by id, kept in the order they came, removed by time, and shared
// with a snapshot that keeps seeing what it took.
#include <catch2/catch.hpp>

#include "state/frozen_records.hpp"

using claud::state::frozen_records;

namespace {

std::string concatenated(const std::vector<claud::state::shared_bytes>& chunks) {
  std::string out;
  for (const auto& c : chunks)
    out += *c;
  return out;
}

std::string all_records(const frozen_records& records) {
  std::string out;
  records.for_each([&](std::string_view bytes) { out += bytes; });
  return out;
}

/// A record large enough that a few fill a chunk.
std::string record_of(int i) {
  return std::string(frozen_records::chunk_bytes / 4, static_cast<char>('a' + i % 26));
}

} // namespace

TEST_CASE("records are found by id and kept in the order they came") {
  frozen_records records;
  records.add("1", 10, "one");
  records.add("22", 5, "twenty-two");
  CHECK(records.size() == 2);
  CHECK(records.find("1") == std::string_view{"one"});
  CHECK(records.find("22") == std::string_view{"twenty-two"});
  CHECK_FALSE(records.find("3"));
  CHECK(all_records(records) == "onetwenty-two");
  CHECK(concatenated(records.chunks()) == "onetwenty-two");
  CHECK_THROWS_AS(records.add("1", 11, "again"), std::logic_error);
}

TEST_CASE("an alias finds its record's id until the record is removed") {
  frozen_records records;
  records.add("1", 10, "one", "key-one");
  records.add("2", 20, "two"); // no alias
  CHECK(records.id_of_alias("key-one") == std::string{"1"});
  CHECK_FALSE(records.id_of_alias("key-two"));
  CHECK_FALSE(records.id_of_alias(""));
  CHECK_THROWS_AS(records.add("3", 30, "three", "key-one"), std::logic_error);
  CHECK_FALSE(records.find("3")); // refused whole
  records.remove_older(15, [](std::string_view, std::string_view) {});
  CHECK_FALSE(records.id_of_alias("key-one"));
  records.add("3", 30, "three", "key-one"); // free again
  CHECK(records.id_of_alias("key-one") == std::string{"3"});
}

TEST_CASE("removing by time drops whole chunks and rewrites the ones partly old") {
  frozen_records records;
  std::string expected_after;
  for (int i = 0; i < 20; ++i) { // five chunks of four
    // Odd records in the third chunk are recent; every other record in the first three is old.
    const bool recent = i >= 12 || (i >= 8 && i % 2 == 1);
    records.add(std::to_string(i), recent ? 1000 : 10, record_of(i));
    if (recent)
      expected_after += record_of(i);
  }
  REQUIRE(records.chunks().size() == 5);
  std::vector<std::string> removed;
  records.remove_older(500, [&](std::string_view id, std::string_view bytes) {
    CHECK(bytes == record_of(std::stoi(std::string{id})));
    removed.emplace_back(id);
  });
  CHECK(removed.size() == 10); // 0..7, 8 and 10
  CHECK(records.size() == 10);
  CHECK_FALSE(records.find("3"));
  CHECK_FALSE(records.find("10"));
  CHECK(records.find("9") == std::string_view{record_of(9)});
  CHECK(records.find("11") == std::string_view{record_of(11)}); // moved within its chunk
  CHECK(records.find("19") == std::string_view{record_of(19)});
  CHECK(all_records(records) == expected_after);
  CHECK(concatenated(records.chunks()) == expected_after);
  CHECK(records.chunks().size() == 3);
  // More records after a rewrite go on after the others.
  records.add("20", 2000, "tail");
  CHECK(all_records(records) == expected_after + "tail");
  records.remove_older(5000, [](std::string_view, std::string_view) {});
  CHECK(records.size() == 0);
  CHECK(records.chunks().empty());
  records.add("21", 1, "after all");
  CHECK(concatenated(records.chunks()) == "after all");
}

TEST_CASE("a snapshot keeps the chunks it took, whatever the records do afterwards") {
  frozen_records records;
  for (int i = 0; i < 9; ++i) // two sealed chunks and an open one
    records.add(std::to_string(i), i, record_of(i));
  const auto taken = records.chunks();
  const std::string before = concatenated(taken);
  records.add("9", 9, record_of(9));      // appends to the open chunk
  CHECK(records.chunks()[0] == taken[0]); // a sealed chunk is shared, not copied
  CHECK(records.chunks()[1] == taken[1]);
  records.remove_older(6, [](std::string_view, std::string_view) {}); // drops 0, rewrites 1
  CHECK(records.chunks()[0] != taken[1]);
  CHECK(concatenated(taken) == before);
}

TEST_CASE("records with long ids and aliases survive a move and are freed cleanly") {
  // Longer than a short-string buffer, so their bytes come from the store's pool: the pool must
  // outlive every string made from it, through moves, assignments and destruction.
  auto long_id = [](int i) { return std::string(40, 'i') + std::to_string(i); };
  auto long_alias = [](int i) { return std::string(40, 'k') + std::to_string(i); };
  frozen_records records;
  for (int i = 0; i < 100; ++i)
    records.add(long_id(i), i, record_of(i), long_alias(i));
  frozen_records moved{std::move(records)};
  CHECK(moved.id_of_alias(long_alias(7)) == long_id(7));
  frozen_records other;
  for (int i = 0; i < 50; ++i)
    other.add(long_id(1000 + i), i, "x", long_alias(1000 + i));
  other = std::move(moved); // the records it held are freed before their pool
  CHECK(other.size() == 100);
  CHECK(other.find(long_id(99)) == std::string_view{record_of(99)});
  other.remove_older(50, [](std::string_view, std::string_view) {}); // frees strings too
  CHECK(other.size() == 50);
  CHECK_FALSE(other.id_of_alias(long_alias(7)));
}
