// snapshot_file: names, the round trip, and every kind of damage stopping the read with the file's
// name (a snapshot is written atomically, so there is no torn tail to forgive).
#include "storage/snapshot_file.hpp"

#include <catch2/catch.hpp>

#include <filesystem>
#include <stdexcept>
#include <string>

#include "entries.hpp"
#include "storage/record_file.hpp"
#include "storage/storage_error.hpp"
#include "temp_dir.hpp"

using namespace claud::storage;
using claud::storage::test::read_bytes;
using claud::storage::test::same;
using claud::storage::test::snapshot;
using claud::storage::test::temp_dir;
using claud::storage::test::write_bytes;

namespace {

std::string read_error(const std::string& path, uint64_t index) {
  try {
    snapshot_file::read(path, index);
  } catch (const storage_error& e) {
    return e.what();
  }
  return "";
}

} // namespace

TEST_CASE("snapshot file names") {
  CHECK(snapshot_file::name(42) == "snap-00000000000000000042.pb");
  CHECK(snapshot_file::parse_name("snap-00000000000000000042.pb") == 42u);
  CHECK_FALSE(snapshot_file::parse_name("snap-42.pb"));
  CHECK_FALSE(snapshot_file::parse_name("snap-00000000000000000042.pb.tmp"));
  CHECK(snapshot_file::is_temp_name("snap-00000000000000000042.pb.tmp"));
  CHECK_FALSE(snapshot_file::is_temp_name("snap-00000000000000000042.pb"));
  CHECK_FALSE(snapshot_file::is_temp_name("meta.tmp"));
}

TEST_CASE("a written snapshot reads back, and is one record with a format byte") {
  temp_dir tmp;
  std::string path = tmp / snapshot_file::name(7);
  auto snap = snapshot(7, 3);
  snapshot_file::write(path, snapshot_file::encode(snap));
  CHECK(same(snapshot_file::read(path, 7), snap));
  CHECK(record_file::decode(read_bytes(path)) == "\x01" + snap.SerializeAsString());
  CHECK_FALSE(std::filesystem::exists(path + ".tmp"));
}

TEST_CASE("a damaged snapshot file is an error naming it") {
  temp_dir tmp;
  std::string path = tmp / snapshot_file::name(7);
  std::string bytes = snapshot_file::encode(snapshot(7, 3));
  SECTION("a flipped bit") {
    bytes[bytes.size() - 2] ^= 0x04;
    write_bytes(path, bytes);
    CHECK_THAT(read_error(path, 7), Catch::Contains("corrupt snapshot " + path));
  }
  SECTION("cut short") {
    write_bytes(path, bytes.substr(0, bytes.size() - 1));
    CHECK_THAT(read_error(path, 7), Catch::Contains("corrupt snapshot " + path));
  }
  SECTION("empty") {
    write_bytes(path, "");
    CHECK_THAT(read_error(path, 7), Catch::Contains("corrupt snapshot " + path));
  }
  SECTION("an unknown format byte") {
    write_bytes(path, record_file::encode("\x02" + snapshot(7, 3).SerializeAsString()));
    CHECK_THAT(read_error(path, 7), Catch::Contains(path + " has an unknown format"));
  }
  SECTION("not a snapshot") {
    write_bytes(path, record_file::encode("\x01\xff\xff"));
    CHECK_THAT(read_error(path, 7), Catch::Contains("cannot parse the snapshot in " + path));
  }
  SECTION("another index than its name") {
    write_bytes(path, bytes);
    CHECK_THAT(read_error(path, 8), Catch::Contains(path + " holds index 7"));
  }
}

TEST_CASE("a snapshot above the record limit is a programmer error") {
  claud::pb::Snapshot big = snapshot(7, 3);
  big.set_data(std::string(record_file::max_record_bytes, 'x'));
  CHECK_THROWS_WITH(snapshot_file::encode(big), Catch::Contains("above the"));
  CHECK_THROWS_AS(snapshot_file::encode(big), std::logic_error);
}
