// file_log_store with snapshots: compaction deletes covered segments, installing a leader's
// snapshot replaces the log, and recovery completes an interrupted install and refuses snapshots
// and logs that do not fit together, naming the file.
#include "storage/file_log_store.hpp"

#include <catch2/catch.hpp>

#include <filesystem>
#include <stdexcept>

#include "file_log_store_fixture.hpp"
#include "storage/snapshot_file.hpp"
#include "temp_dir.hpp"

using namespace claud::storage;
using namespace claud::storage::test;

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

TEST_CASE("a staged snapshot counts once adopted, and a leader's newer one overtakes it") {
  temp_dir tmp;
  std::string dir = tmp / "raft";
  file_log_store store(dir, small);
  store.append(entries(1, 10, 1));
  store.stage_snapshot(snapshot(4, 1)); // as the writer thread does: durable, not yet adopted
  CHECK(store.first_index() == 1);
  CHECK(snapshot_files(dir) == std::vector<std::string>{snapshot_file::name(4)});
  CHECK(store.adopt_snapshot(snapshot(4, 1)));
  CHECK(store.first_index() == 5);
  CHECK(same(store.snapshot(), snapshot(4, 1))); // read back from its file
  store.stage_snapshot(snapshot(6, 1));
  store.save_snapshot(snapshot(8, 1)); // a leader's, installed while the writer wrote
  CHECK_FALSE(store.adopt_snapshot(snapshot(6, 1)));
  CHECK(same(store.snapshot(), snapshot(8, 1)));
  CHECK(summary(store.entries()) == summary(entries(9, 10, 1)));
  CHECK(snapshot_files(dir) == std::vector<std::string>{snapshot_file::name(8)});
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
