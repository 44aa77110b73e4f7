// file_log_store: what is synced survives a reopen; suffix cuts, segment rotation and the meta
// file; snapshots and compaction; recovery cuts a torn tail of the last segment, completes an
// interrupted snapshot install and refuses every other inconsistency with an error naming the file.
#include "storage/file_log_store.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <stdexcept>

#include "entries.hpp"
#include "storage/snapshot_file.hpp"
#include "storage/storage_error.hpp"
#include "temp_dir.hpp"

using namespace claud::storage;
using claud::storage::test::entries;
using claud::storage::test::entry;
using claud::storage::test::hard_state;
using claud::storage::test::read_bytes;
using claud::storage::test::same;
using claud::storage::test::snapshot;
using claud::storage::test::summary;
using claud::storage::test::temp_dir;
using claud::storage::test::write_bytes;

namespace {

// About four entries per segment, so rotation happens within a few appends.
const file_log_store_config small{200, 1u << 20};

std::vector<std::string> files_starting(const std::string& dir, const std::string& prefix) {
  std::vector<std::string> names;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    std::string name = e.path().filename().string();
    if (name.compare(0, prefix.size(), prefix) == 0)
      names.push_back(name);
  }
  std::sort(names.begin(), names.end());
  return names;
}

std::vector<std::string> segment_files(const std::string& dir) {
  return files_starting(dir, "log-");
}

std::vector<std::string> snapshot_files(const std::string& dir) {
  return files_starting(dir, "snap-");
}

uint64_t first_index_of(const std::string& segment_name) {
  return std::stoull(segment_name.substr(4, 20));
}

std::string open_error(const std::string& dir) {
  try {
    file_log_store store(dir, small);
  } catch (const storage_error& e) {
    return e.what();
  }
  return "";
}

std::vector<claud::pb::LogEntry> concat(std::vector<claud::pb::LogEntry> a,
                                        const std::vector<claud::pb::LogEntry>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

} // namespace

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

TEST_CASE("a new file store has no snapshot") {
  temp_dir tmp;
  auto store = make_file_log_store(tmp / "raft");
  CHECK(same(store->snapshot(), claud::pb::Snapshot{}));
  CHECK(snapshot_files(tmp / "raft").empty());
}

TEST_CASE("compaction deletes covered segments, keeps a straddling one, and survives a reopen") {
  temp_dir tmp;
  std::string dir = tmp / "raft";
  std::vector<std::string> names;
  uint64_t index = 0; // the snapshot's: second entry of the third segment
  {
    file_log_store store(dir, small);
    store.append(entries(1, 30, 1));
    store.set_hard_state(hard_state(1, "m1", 25));
    store.sync();
    names = segment_files(dir);
    REQUIRE(names.size() >= 5);
    index = first_index_of(names[2]) + 1;
    REQUIRE(index + 1 < first_index_of(names[3]));
    store.save_snapshot(snapshot(index, 1));
    CHECK(same(store.snapshot(), snapshot(index, 1)));
    CHECK(store.first_index() == index + 1);
    CHECK(store.last_index() == 30);
    CHECK(summary(store.entries()) == summary(entries(index + 1, 30, 1)));
    CHECK(segment_files(dir) == std::vector<std::string>(names.begin() + 2, names.end()));
    CHECK(snapshot_files(dir) == std::vector<std::string>{snapshot_file::name(index)});
  }
  {
    file_log_store store(dir, small);
    CHECK(same(store.snapshot(), snapshot(index, 1)));
    CHECK(store.first_index() == index + 1);
    CHECK(summary(store.entries()) == summary(entries(index + 1, 30, 1)));
    CHECK(same(store.hard_state(), hard_state(1, "m1", 25)));
    CHECK_THROWS_WITH(store.append(entries(index, index, 2)), Catch::Contains("compacted"));
    // A cut right after the snapshot truncates inside the straddling segment.
    store.append(entries(index + 1, index + 2, 2));
    store.set_hard_state(hard_state(2, "m2", index - 1)); // a commit inside the snapshot is fine
    store.sync();
    CHECK(segment_files(dir) == std::vector<std::string>{names[2]});
  }
  file_log_store store(dir, small);
  CHECK(store.first_index() == index + 1);
  CHECK(summary(store.entries()) == summary(entries(index + 1, index + 2, 2)));
  CHECK(same(store.hard_state(), hard_state(2, "m2", index - 1)));
}

TEST_CASE("a snapshot at a segment's last entry deletes that segment") {
  temp_dir tmp;
  std::string dir = tmp / "raft";
  std::vector<std::string> names;
  uint64_t index = 0;
  {
    file_log_store store(dir, small);
    store.append(entries(1, 20, 1));
    store.sync();
    names = segment_files(dir);
    index = first_index_of(names[2]) - 1;
    store.save_snapshot(snapshot(index, 1));
    CHECK(segment_files(dir) == std::vector<std::string>(names.begin() + 2, names.end()));
    store.save_snapshot(snapshot(index + 1, 1)); // a newer one replaces it
    CHECK(snapshot_files(dir) == std::vector<std::string>{snapshot_file::name(index + 1)});
  }
  file_log_store store(dir, small);
  CHECK(same(store.snapshot(), snapshot(index + 1, 1)));
  CHECK(summary(store.entries()) == summary(entries(index + 2, 20, 1)));
}

TEST_CASE("installing a snapshot beyond the end drops the log and appends continue after it") {
  temp_dir tmp;
  std::string dir = tmp / "raft";
  {
    file_log_store store(dir, small);
    store.append(entries(1, 20, 1));
    store.sync();
    store.save_snapshot(snapshot(30, 2));
    CHECK(store.first_index() == 31);
    CHECK(store.last_index() == 30);
    CHECK(store.entries().empty());
    CHECK(segment_files(dir) == std::vector<std::string>{file_log_store::segment_file_name(31)});
    CHECK_THROWS_AS(store.append(entries(30, 31, 2)), std::logic_error);
    CHECK_THROWS_AS(store.append(entries(32, 32, 2)), std::logic_error);
    store.append(entries(31, 33, 2));
    store.set_hard_state(hard_state(2, "", 30));
    store.sync();
  }
  {
    file_log_store store(dir, small);
    CHECK(same(store.snapshot(), snapshot(30, 2)));
    CHECK(summary(store.entries()) == summary(entries(31, 33, 2)));
    // Right at the end (nothing after it) also leaves an empty log.
    store.save_snapshot(snapshot(33, 2));
    CHECK(store.entries().empty());
    CHECK(store.last_index() == 33);
  }
  file_log_store store(dir, small);
  CHECK(store.first_index() == 34);
  CHECK(store.last_index() == 33);
  CHECK(same(store.hard_state(), hard_state(2, "", 30)));
}

TEST_CASE("a snapshot conflicting with the entry at its index drops the whole log") {
  temp_dir tmp;
  std::string dir = tmp / "raft";
  {
    file_log_store store(dir, small);
    store.append(entries(1, 20, 1));
    store.sync();
    store.save_snapshot(snapshot(5, 2));
    CHECK(store.entries().empty());
    CHECK(store.last_index() == 5);
    CHECK(segment_files(dir) == std::vector<std::string>{file_log_store::segment_file_name(6)});
  }
  file_log_store store(dir, small);
  CHECK(store.entries().empty());
  CHECK(store.first_index() == 6);
}

TEST_CASE("an older snapshot is a logic_error and changes nothing") {
  temp_dir tmp;
  std::string dir = tmp / "raft";
  file_log_store store(dir, small);
  store.append(entries(1, 10, 1));
  store.save_snapshot(snapshot(6, 1));
  CHECK_THROWS_AS(store.save_snapshot(snapshot(5, 1)), std::logic_error);
  CHECK_THROWS_AS(store.save_snapshot(snapshot(6, 2)), std::logic_error);
  CHECK(same(store.snapshot(), snapshot(6, 1)));
  CHECK(summary(store.entries()) == summary(entries(7, 10, 1)));
  CHECK(snapshot_files(dir) == std::vector<std::string>{snapshot_file::name(6)});
}

TEST_CASE("a corrupt snapshot file stops recovery, naming it") {
  temp_dir tmp;
  std::string dir = tmp / "raft";
  {
    file_log_store store(dir, small);
    store.append(entries(1, 10, 1));
    store.sync();
    store.save_snapshot(snapshot(4, 1));
  }
  std::string path = dir + "/" + snapshot_file::name(4);
  std::string bytes = read_bytes(path);
  bytes[bytes.size() - 3] ^= 0x10;
  write_bytes(path, bytes);
  CHECK_THAT(open_error(dir), Catch::Contains("corrupt snapshot " + path));
}

TEST_CASE("recovery deletes a leftover temp file and older snapshots, and refuses bad names") {
  temp_dir tmp;
  std::string dir = tmp / "raft";
  {
    file_log_store store(dir, small);
    store.append(entries(1, 10, 1));
    store.sync();
    store.save_snapshot(snapshot(3, 1));
  }
  std::string older = read_bytes(dir + "/" + snapshot_file::name(3));
  {
    file_log_store store(dir, small);
    store.save_snapshot(snapshot(5, 1));
  }
  // A crash before the older one was deleted, and one during the write of a newer one.
  write_bytes(dir + "/" + snapshot_file::name(3), older);
  write_bytes(dir + "/" + snapshot_file::name(8) + ".tmp", "half a snap");
  {
    file_log_store store(dir, small);
    CHECK(same(store.snapshot(), snapshot(5, 1)));
    CHECK(summary(store.entries()) == summary(entries(6, 10, 1)));
  }
  CHECK(snapshot_files(dir) == std::vector<std::string>{snapshot_file::name(5)});
  write_bytes(dir + "/snap-12.pb", "");
  CHECK_THAT(open_error(dir), Catch::Contains("snap-12.pb (not a valid snapshot file name)"));
}

TEST_CASE("a log that does not continue right after the snapshot is refused") {
  temp_dir tmp;
  std::string dir = tmp / "raft";
  SECTION("entries missing after the snapshot") {
    std::vector<std::string> names;
    uint64_t index = 0;
    {
      file_log_store store(dir, small);
      store.append(entries(1, 20, 1));
      store.sync();
      names = segment_files(dir);
      index = first_index_of(names[1]); // the straddling segment holds at least one more entry
      store.save_snapshot(snapshot(index, 1));
    }
    std::filesystem::remove(dir + "/" + names[1]);
    std::string message = open_error(dir);
    CHECK_THAT(message, Catch::Contains(dir + "/" + names[2]));
    CHECK_THAT(message, Catch::Contains(dir + "/" + snapshot_file::name(index)));
    CHECK_THAT(message, Catch::Contains("are missing"));
  }
  SECTION("a term below the snapshot's") {
    std::filesystem::create_directories(dir);
    snapshot_file::write(dir + "/" + snapshot_file::name(5), snapshot_file::encode(snapshot(5, 3)));
    std::vector<std::string> unused;
    auto seg = record_file::open(dir + "/" + file_log_store::segment_file_name(6), &unused);
    seg.append(entry(6, 2).SerializeAsString());
    seg.sync();
    CHECK_THAT(open_error(dir), Catch::Contains("has term 2, below the term 3 of snapshot"));
  }
}

TEST_CASE("recovery completes a compaction or install a crash interrupted") {
  temp_dir tmp;
  std::string dir = tmp / "raft";
  std::vector<std::pair<std::string, std::string>> old_segments;
  {
    file_log_store store(dir, small);
    store.append(entries(1, 20, 1));
    store.sync();
  }
  for (const auto& name : segment_files(dir))
    old_segments.emplace_back(name, read_bytes(dir + "/" + name));
  auto crash_before_log_changes = [&] {
    for (const auto& name : segment_files(dir))
      std::filesystem::remove(dir + "/" + name);
    for (const auto& [name, bytes] : old_segments)
      write_bytes(dir + "/" + name, bytes);
  };
  SECTION("compaction") {
    uint64_t index = first_index_of(old_segments[2].first) + 1;
    {
      file_log_store store(dir, small);
      store.save_snapshot(snapshot(index, 1));
    }
    crash_before_log_changes();
    {
      file_log_store store(dir, small);
      CHECK(store.first_index() == index + 1);
      CHECK(summary(store.entries()) == summary(entries(index + 1, 20, 1)));
    }
    CHECK(segment_files(dir).front() == old_segments[2].first);
  }
  SECTION("an install beyond the end") {
    {
      file_log_store store(dir, small);
      store.save_snapshot(snapshot(40, 2));
    }
    crash_before_log_changes();
    file_log_store store(dir, small);
    CHECK(store.entries().empty());
    CHECK(store.first_index() == 41);
    CHECK(segment_files(dir) == std::vector<std::string>{file_log_store::segment_file_name(41)});
    store.append(entries(41, 41, 2));
    store.sync();
    CHECK(file_log_store(dir, small).last_index() == 41);
  }
  SECTION("an install conflicting with the entry at its index") {
    {
      file_log_store store(dir, small);
      store.save_snapshot(snapshot(10, 2));
    }
    crash_before_log_changes();
    file_log_store store(dir, small);
    CHECK(store.entries().empty());
    CHECK(store.first_index() == 11);
  }
}

TEST_CASE("an installed snapshot's term raises a hard state that was not synced after it") {
  temp_dir tmp;
  std::string dir = tmp / "raft";
  {
    file_log_store store(dir, small);
    store.append(entries(1, 3, 1));
    store.set_hard_state(hard_state(1, "m1", 3));
    store.sync();
    store.save_snapshot(snapshot(9, 4)); // durable; the new term would be at the next sync
  }
  file_log_store store(dir, small);
  CHECK(same(store.hard_state(), hard_state(4, "", 3)));
}

TEST_CASE("a commit past both the log and the snapshot is refused") {
  temp_dir tmp;
  std::string dir = tmp / "raft";
  {
    file_log_store other(tmp / "other", small);
    other.set_hard_state(hard_state(1, "m1", 12));
    other.sync();
  }
  {
    file_log_store store(dir, small);
    store.save_snapshot(snapshot(10, 1));
  }
  write_bytes(dir + "/meta", read_bytes(tmp / "other/meta"));
  CHECK_THAT(open_error(dir), Catch::Contains("says index 12 is committed but the log in"));
}
