// file_log_store: what is synced survives a reopen; suffix cuts, segment rotation and the meta
// file; recovery cuts a torn tail of the last segment and refuses every other inconsistency with an
// error naming the file (snapshots and compaction: file_log_store_snapshot_test.cpp).
#include "storage/file_log_store.hpp"

#include <catch2/catch.hpp>

#include <filesystem>
#include <stdexcept>

#include "file_log_store_fixture.hpp"
#include "storage/snapshot_file.hpp"
#include "temp_dir.hpp"

using namespace claud::storage;
using namespace claud::storage::test;

TEST_CASE("a new file store is empty and creates its first segment") {
  temp_dir tmp;
  auto store = make_file_log_store(tmp / "raft");
  CHECK(store->first_index() == 1);
  CHECK(store->last_index() == 0);
  CHECK(store->entries().empty());
  CHECK(same(store->hard_state(), claud::pb::HardState{}));
  CHECK(segment_files(tmp / "raft") == std::vector<std::string>{"log-00000000000000000001.seg"});
  CHECK(file_log_store::segment_file_name(42) == "log-00000000000000000042.seg");
}

TEST_CASE("entries and hard state survive a reopen") {
  temp_dir tmp;
  {
    auto store = make_file_log_store(tmp / "raft");
    store->append(entries(1, 50, 1));
    store->append(entries(51, 100, 2));
    store->set_hard_state(hard_state(2, "m2", 90));
    store->sync();
  }
  auto store = make_file_log_store(tmp / "raft");
  CHECK(store->last_index() == 100);
  CHECK(summary(store->entries()) == summary(concat(entries(1, 50, 1), entries(51, 100, 2))));
  CHECK(store->entries()[10].SerializeAsString() == entry(11, 1).SerializeAsString());
  CHECK(same(store->hard_state(), hard_state(2, "m2", 90)));
}

TEST_CASE("a conflicting suffix is replaced, also after a reopen") {
  temp_dir tmp;
  auto expected = concat(entries(1, 5, 1), entries(6, 7, 3));
  {
    auto store = make_file_log_store(tmp / "raft");
    store->append(entries(1, 10, 1));
    store->sync();
    store->append(entries(6, 7, 3));
    CHECK(store->last_index() == 7);
    CHECK(summary(store->entries()) == summary(expected));
    store->sync();
  }
  auto store = make_file_log_store(tmp / "raft");
  CHECK(summary(store->entries()) == summary(expected));
  store->append(entries(8, 9, 3));
  store->sync();
  store = make_file_log_store(tmp / "raft");
  CHECK(summary(store->entries()) == summary(concat(expected, entries(8, 9, 3))));
}

TEST_CASE("bad appends throw logic_error and change nothing") {
  temp_dir tmp;
  auto store = make_file_log_store(tmp / "raft");
  store->append(entries(1, 3, 1));
  CHECK_THROWS_AS(store->append(entries(5, 5, 1)), std::logic_error);
  CHECK_THROWS_AS(store->append({entry(4, 1), entry(6, 1)}), std::logic_error);
  CHECK_THROWS_AS(store->append({entry(0, 1)}), std::logic_error);
  CHECK(summary(store->entries()) == summary(entries(1, 3, 1)));
  store->sync();
  store = make_file_log_store(tmp / "raft");
  CHECK(summary(store->entries()) == summary(entries(1, 3, 1)));
}

TEST_CASE("segments rotate, and a cut across segments deletes the later ones") {
  temp_dir tmp;
  std::string dir = tmp / "raft";
  {
    file_log_store store(dir, small);
    store.append(entries(1, 20, 1));
    store.sync();
  }
  auto names = segment_files(dir);
  REQUIRE(names.size() >= 4);
  CHECK(names.front() == "log-00000000000000000001.seg");
  for (const auto& name : names)
    CHECK(std::filesystem::file_size(dir + "/" + name) <= small.segment_bytes);
  {
    file_log_store store(dir, small);
    CHECK(summary(store.entries()) == summary(entries(1, 20, 1)));
    store.append(entries(3, 4, 2)); // cuts inside the first segment
    store.sync();
    CHECK(segment_files(dir).size() < names.size());
    store.append(entries(5, 12, 2));
    store.sync();
  }
  file_log_store store(dir, small);
  CHECK(summary(store.entries()) == summary(concat(entries(1, 2, 1), entries(3, 12, 2))));
}

TEST_CASE("a cut at the first index of a segment keeps that segment file") {
  temp_dir tmp;
  std::string dir = tmp / "raft";
  file_log_store store(dir, small);
  store.append(entries(1, 20, 1));
  auto names = segment_files(dir);
  uint64_t second_first = std::stoull(names[1].substr(4, 20));
  store.append(entries(second_first, second_first, 2));
  store.sync();
  CHECK(segment_files(dir) == std::vector<std::string>{names[0], names[1]});
  file_log_store reopened(dir, small);
  CHECK(reopened.last_index() == second_first);
  CHECK(reopened.entries().back().term() == 2);
}

TEST_CASE("a torn tail of the last segment is cut and the log continues") {
  temp_dir tmp;
  std::string dir = tmp / "raft";
  {
    file_log_store store(dir, small);
    store.append(entries(1, 10, 1));
    store.sync();
  }
  std::string last = dir + "/" + segment_files(dir).back();
  std::string bytes = read_bytes(last);
  write_bytes(last, bytes.substr(0, bytes.size() - 5));
  {
    file_log_store store(dir, small);
    CHECK(store.last_index() == 9);
    store.append(entries(10, 11, 2));
    store.sync();
  }
  file_log_store store(dir, small);
  CHECK(summary(store.entries()) == summary(concat(entries(1, 9, 1), entries(10, 11, 2))));
}

TEST_CASE("corruption inside a segment stops recovery, naming file and offset") {
  temp_dir tmp;
  std::string dir = tmp / "raft";
  {
    auto store = make_file_log_store(dir);
    store->append(entries(1, 10, 1));
    store->sync();
  }
  std::string seg = dir + "/log-00000000000000000001.seg";
  std::string bytes = read_bytes(seg);
  uint64_t second = record_file::header_bytes + entry(1, 1).ByteSizeLong();
  bytes[second + 12] ^= 0x01;
  write_bytes(seg, bytes);
  std::string message = open_error(dir);
  CHECK(message.find(seg + " at offset " + std::to_string(second)) != std::string::npos);
}

TEST_CASE("a missing middle segment is a gap recovery refuses") {
  temp_dir tmp;
  std::string dir = tmp / "raft";
  {
    file_log_store store(dir, small);
    store.append(entries(1, 20, 1));
    store.sync();
  }
  auto names = segment_files(dir);
  std::filesystem::remove(dir + "/" + names[1]);
  std::string message = open_error(dir);
  CHECK(message.find(dir + "/" + names[2]) != std::string::npos);
  CHECK(message.find("but the log before it ends at index") != std::string::npos);
}

TEST_CASE("recovery checks indices against the segment name and terms for order") {
  temp_dir tmp;
  std::string dir = tmp / "raft";
  std::filesystem::create_directories(dir);
  std::vector<std::string> unused;
  SECTION("an entry out of place") {
    auto seg = record_file::open(dir + "/log-00000000000000000001.seg", &unused);
    seg.append(entry(1, 1).SerializeAsString());
    seg.append(entry(3, 1).SerializeAsString());
    seg.sync();
    CHECK_THAT(open_error(dir), Catch::Contains("has index 3, expected 2"));
  }
  SECTION("a decreasing term") {
    auto seg = record_file::open(dir + "/log-00000000000000000001.seg", &unused);
    seg.append(entry(1, 2).SerializeAsString());
    seg.append(entry(2, 1).SerializeAsString());
    seg.sync();
    CHECK_THAT(open_error(dir), Catch::Contains("has term 1, below"));
  }
  SECTION("a malformed segment name") {
    write_bytes(dir + "/log-12.seg", "");
    CHECK_THAT(open_error(dir), Catch::Contains("log-12.seg (not a valid log segment name)"));
  }
}

TEST_CASE("the last hard state synced wins, across meta rewrites") {
  temp_dir tmp;
  std::string dir = tmp / "raft";
  file_log_store_config tiny_meta{64u << 20, 100};
  {
    file_log_store store(dir, tiny_meta);
    for (uint64_t term = 1; term <= 30; ++term) {
      store.set_hard_state(hard_state(term, "m" + std::to_string(term % 3), 0));
      store.sync();
      REQUIRE(std::filesystem::file_size(dir + "/meta") <= tiny_meta.meta_compact_bytes);
    }
  }
  write_bytes(dir + "/meta.tmp", "an interrupted rewrite");
  file_log_store store(dir, tiny_meta);
  CHECK(same(store.hard_state(), hard_state(30, "m0", 0)));
  CHECK_FALSE(std::filesystem::exists(dir + "/meta.tmp"));
}

TEST_CASE("a torn meta record falls back to the previous hard state") {
  temp_dir tmp;
  std::string dir = tmp / "raft";
  {
    auto store = make_file_log_store(dir);
    store->set_hard_state(hard_state(1, "a", 0));
    store->sync();
    store->sync(); // unchanged: writes nothing
    store->set_hard_state(hard_state(2, "b", 0));
    store->sync();
  }
  std::string bytes = read_bytes(dir + "/meta");
  write_bytes(dir + "/meta", bytes.substr(0, bytes.size() - 1));
  auto store = make_file_log_store(dir);
  CHECK(same(store->hard_state(), hard_state(1, "a", 0)));
}

TEST_CASE("a hard state behind the log's last term is brought up to it without a vote") {
  // What a crash between the log fsync and the meta fsync of one sync() leaves.
  temp_dir tmp;
  std::string dir = tmp / "raft";
  {
    auto store = make_file_log_store(dir);
    store->append(entries(1, 3, 1));
    store->set_hard_state(hard_state(1, "m1", 2));
    store->sync();
  }
  std::string meta = read_bytes(dir + "/meta");
  {
    auto store = make_file_log_store(dir);
    store->append(entries(4, 5, 4));
    store->set_hard_state(hard_state(4, "m2", 2));
    store->sync();
  }
  write_bytes(dir + "/meta", meta);
  auto store = make_file_log_store(dir);
  CHECK(same(store->hard_state(), hard_state(4, "", 2)));
}

TEST_CASE("a commit index past the log is refused") {
  temp_dir tmp;
  std::string dir = tmp / "raft";
  {
    auto store = make_file_log_store(dir);
    store->append(entries(1, 3, 1));
    store->set_hard_state(hard_state(1, "m1", 3));
    store->sync();
  }
  write_bytes(dir + "/log-00000000000000000001.seg", "");
  CHECK_THAT(open_error(dir), Catch::Contains("says index 3 is committed but the log in"));
}
