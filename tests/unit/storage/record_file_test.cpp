// record_file: round trips, the torn tails a crash can leave (cut at every byte, zero-filled, bad
// last checksum), and corruption anywhere else, which must stop recovery with the file and offset.
#include "storage/record_file.hpp"

#include <catch2/catch.hpp>

#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "storage/storage_error.hpp"
#include "temp_dir.hpp"

using namespace claud::storage;
using claud::storage::test::read_bytes;
using claud::storage::test::temp_dir;
using claud::storage::test::write_bytes;

namespace {

const std::vector<std::string> sample = {"first record", std::string(300, 'x'), "third",
                                         std::string("with\0zero", 9), "last record payload"};

// Writes `records` to `path` through record_file and returns the byte offset of each.
std::vector<uint64_t> write_records(const std::string& path,
                                    const std::vector<std::string>& records) {
  std::vector<std::string> existing;
  auto file = record_file::open(path, &existing);
  std::vector<uint64_t> offsets;
  for (const auto& r : records) {
    offsets.push_back(file.size_bytes());
    file.append(r);
  }
  file.sync();
  return offsets;
}

std::string open_error(const std::string& path) {
  std::vector<std::string> records;
  try {
    record_file::open(path, &records);
  } catch (const storage_error& e) {
    return e.what();
  }
  return "";
}

} // namespace

TEST_CASE("records survive a reopen") {
  temp_dir tmp;
  std::string path = tmp / "r";
  std::vector<std::string> records;
  {
    auto file = record_file::open(path, &records);
    CHECK(records.empty());
    CHECK(file.size_bytes() == 0);
    for (const auto& r : sample)
      file.append(r);
    file.sync();
  }
  auto file = record_file::open(path, &records);
  CHECK(records == sample);
  CHECK(file.torn_tail_bytes() == 0);
  uint64_t expected_size = 0;
  for (const auto& r : sample)
    expected_size += record_file::header_bytes + r.size();
  CHECK(file.size_bytes() == expected_size);
  CHECK(read_bytes(path).size() == expected_size);
}

TEST_CASE("the on-disk format is length, crc32c, payload, little endian") {
  temp_dir tmp;
  write_records(tmp / "r", {"123456789"});
  std::string bytes = read_bytes(tmp / "r");
  CHECK(bytes == std::string("\x09\x00\x00\x00\x83\x92\x06\xE3", 8) + "123456789");
  CHECK(record_file::encode("123456789") == bytes);
}

TEST_CASE("a torn last record is cut at every possible length") {
  temp_dir tmp;
  std::string path = tmp / "r";
  auto offsets = write_records(path, sample);
  std::string whole = read_bytes(path);
  uint64_t last_start = offsets.back();
  std::vector<std::string> expected(sample.begin(), sample.end() - 1);
  for (uint64_t size = last_start; size < whole.size(); ++size) {
    CAPTURE(size);
    write_bytes(path, whole.substr(0, size));
    std::vector<std::string> records;
    auto file = record_file::open(path, &records);
    REQUIRE(records == expected);
    REQUIRE(file.size_bytes() == last_start);
    REQUIRE(file.torn_tail_bytes() == size - last_start);
    REQUIRE(read_bytes(path).size() == last_start);
  }
}

TEST_CASE("appending after a cut torn tail gives a clean file") {
  temp_dir tmp;
  std::string path = tmp / "r";
  auto offsets = write_records(path, sample);
  std::string whole = read_bytes(path);
  write_bytes(path, whole.substr(0, whole.size() - 3));
  std::vector<std::string> records;
  {
    auto file = record_file::open(path, &records);
    file.append("replacement");
    file.sync();
  }
  record_file::open(path, &records);
  std::vector<std::string> expected(sample.begin(), sample.end() - 1);
  expected.push_back("replacement");
  CHECK(records == expected);
}

TEST_CASE("trailing zero bytes are a torn tail") {
  temp_dir tmp;
  std::string path = tmp / "r";
  write_records(path, sample);
  std::string whole = read_bytes(path);
  for (size_t zeros : {1, 7, 8, 9, 100, 4096}) {
    CAPTURE(zeros);
    write_bytes(path, whole + std::string(zeros, '\0'));
    std::vector<std::string> records;
    auto file = record_file::open(path, &records);
    REQUIRE(records == sample);
    REQUIRE(file.size_bytes() == whole.size());
    REQUIRE(read_bytes(path) == whole);
  }
}

TEST_CASE("a last record failing its checksum is a torn tail") {
  temp_dir tmp;
  std::string path = tmp / "r";
  auto offsets = write_records(path, sample);
  std::string bytes = read_bytes(path);
  bytes.back() ^= 0x01;
  write_bytes(path, bytes);
  std::vector<std::string> records;
  auto file = record_file::open(path, &records);
  CHECK(records == std::vector<std::string>(sample.begin(), sample.end() - 1));
  CHECK(file.size_bytes() == offsets.back());
}

TEST_CASE("a flipped byte in a middle record is corruption at that record's offset") {
  temp_dir tmp;
  std::string path = tmp / "r";
  auto offsets = write_records(path, sample);
  std::string whole = read_bytes(path);
  // Every byte of the second record, header included.
  for (uint64_t at = offsets[1]; at < offsets[2]; ++at) {
    CAPTURE(at);
    std::string bytes = whole;
    bytes[at] = static_cast<char>(bytes[at] ^ 0x40);
    write_bytes(path, bytes);
    std::string message = open_error(path);
    REQUIRE(message.find("corrupt record in " + path + " at offset " + std::to_string(offsets[1]))
            != std::string::npos);
    REQUIRE(message.find("restore it from another master") != std::string::npos);
    if (at >= offsets[1] + record_file::header_bytes)
      REQUIRE(message.find("checksum mismatch") != std::string::npos);
    REQUIRE(read_bytes(path) == bytes); // nothing cut: we never guess past damage
  }
}

TEST_CASE("a zero-filled hole followed by valid records is corruption") {
  temp_dir tmp;
  std::string path = tmp / "r";
  auto offsets = write_records(path, sample);
  std::string bytes = read_bytes(path);
  std::fill(bytes.begin() + static_cast<long>(offsets[2]),
            bytes.begin() + static_cast<long>(offsets[3]), '\0');
  write_bytes(path, bytes);
  CHECK(open_error(path).find("at offset " + std::to_string(offsets[2])) != std::string::npos);
}

TEST_CASE("a record longer than the limit is corruption") {
  temp_dir tmp;
  std::string path = tmp / "r";
  write_records(path, {"ok"});
  std::string bytes = read_bytes(path);
  uint32_t too_long = record_file::max_record_bytes + 1;
  std::string header(8, '\0');
  for (int i = 0; i < 4; ++i)
    header[i] = static_cast<char>((too_long >> (8 * i)) & 0xFF);
  write_bytes(path, bytes + header + "some bytes");
  std::string message = open_error(path);
  CHECK(message.find("at offset 10") != std::string::npos);
  CHECK(message.find("exceeds the limit") != std::string::npos);
}

TEST_CASE("truncate drops a suffix and appends continue after it") {
  temp_dir tmp;
  std::string path = tmp / "r";
  auto offsets = write_records(path, sample);
  std::vector<std::string> records;
  {
    auto file = record_file::open(path, &records);
    file.truncate(offsets[2]);
    CHECK(file.size_bytes() == offsets[2]);
    file.append("new third");
    file.sync();
    CHECK_THROWS_AS(file.truncate(file.size_bytes() + 1), std::invalid_argument);
  }
  record_file::open(path, &records);
  CHECK(records == std::vector<std::string>{sample[0], sample[1], "new third"});
}

TEST_CASE("empty and oversized payloads are programmer errors") {
  temp_dir tmp;
  std::vector<std::string> records;
  auto file = record_file::open(tmp / "r", &records);
  CHECK_THROWS_AS(file.append(""), std::invalid_argument);
  CHECK_THROWS_AS(file.append(std::string(record_file::max_record_bytes + 1, 'x')),
                  std::invalid_argument);
  CHECK(file.size_bytes() == 0);
}

TEST_CASE("a moved record_file keeps working") {
  temp_dir tmp;
  std::vector<std::string> records;
  auto first = record_file::open(tmp / "r", &records);
  first.append("one");
  record_file second = std::move(first);
  second.append("two");
  second.sync();
  record_file::open(tmp / "r", &records);
  CHECK(records == std::vector<std::string>{"one", "two"});
}

TEST_CASE("opening in a missing directory names the path") {
  temp_dir tmp;
  std::vector<std::string> records;
  try {
    record_file::open(tmp / "missing/r", &records);
    FAIL("expected a storage_error");
  } catch (const storage_error& e) {
    CHECK(std::string(e.what()).find(tmp / "missing/r") != std::string::npos);
  }
}

TEST_CASE("a large torn record of random bytes is cut without a long scan") {
  temp_dir tmp;
  std::string path = tmp / "r";
  std::string payload(1u << 20, '\0');
  uint32_t x = 12345;
  for (auto& c : payload) {
    x = x * 1664525u + 1013904223u; // random-looking bytes make the most plausible lengths
    c = static_cast<char>(x >> 24);
  }
  write_records(path, {"head", payload});
  std::string whole = read_bytes(path);
  write_bytes(path, whole.substr(0, whole.size() - payload.size() / 2));
  std::vector<std::string> records;
  auto file = record_file::open(path, &records);
  CHECK(records == std::vector<std::string>{"head"});
  CHECK(file.size_bytes() == record_file::header_bytes + 4);
}

TEST_CASE("decode accepts exactly one valid record") {
  std::string bytes = record_file::encode("payload");
  CHECK(record_file::decode(bytes) == std::optional<std::string>("payload"));
  CHECK_FALSE(record_file::decode(""));
  CHECK_FALSE(record_file::decode(bytes.substr(0, bytes.size() - 1)));
  CHECK_FALSE(record_file::decode(bytes + "x"));
  CHECK_FALSE(record_file::decode(bytes + bytes));
  std::string flipped = bytes;
  flipped.back() ^= 0x01;
  CHECK_FALSE(record_file::decode(flipped));
  CHECK_FALSE(record_file::decode(std::string(record_file::header_bytes, '\0')));
}

TEST_CASE("read gives every record of a clean file and changes nothing") {
  temp_dir tmp;
  std::string path = tmp / "r";
  std::vector<std::string> records;
  auto file = record_file::open(path, &records);
  for (const auto& r : sample)
    file.append(r); // read sees what is written, synced or not
  CHECK(record_file::read(path) == sample);
  file.sync();
  CHECK(record_file::read(path) == sample);
}

TEST_CASE("read refuses a torn tail instead of cutting it, and names a missing file") {
  temp_dir tmp;
  std::string path = tmp / "r";
  write_records(path, sample);
  std::string bytes = read_bytes(path);
  write_bytes(path, bytes.substr(0, bytes.size() - 3));
  CHECK_THROWS_WITH(record_file::read(path),
                    Catch::Contains(path) && Catch::Contains("not a valid record"));
  CHECK(read_bytes(path).size() == bytes.size() - 3); // left as it was
  CHECK_THROWS_WITH(record_file::read(tmp / "missing"), Catch::Contains(tmp / "missing"));
}
