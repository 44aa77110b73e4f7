// check_data_dir: a dir that takes writes, one that is gone or not a dir, one below the minimum
// free space; each with the one line the operator sees, and no probe file left behind.
#include "storage/disk_space.hpp"

#include <catch2/catch.hpp>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <limits>

#include "temp_dir.hpp"

using namespace claud::storage;
using claud::storage::test::temp_dir;

namespace {

bool starts_with(const std::string& text, const std::string& prefix) {
  return text.rfind(prefix, 0) == 0;
}

} // namespace

TEST_CASE("a writable data dir with room is healthy and keeps no probe file") {
  temp_dir dir;
  auto health = check_data_dir(dir.path(), 1);
  CHECK(health.writable);
  CHECK(health.free_bytes > 0);
  CHECK(health.problem.empty());
  CHECK(std::filesystem::is_empty(dir.path()));
}

TEST_CASE("a data dir that vanished or is a file is not writable, and says why") {
  temp_dir dir;
  SECTION("vanished") {
    auto health = check_data_dir(dir / "gone", 1);
    CHECK_FALSE(health.writable);
    CHECK(health.problem
          == "data dir " + (dir / "gone")
                 + " is not writable (No such file or directory); nothing can be stored there");
  }
  SECTION("a file where the dir should be") {
    std::ofstream{dir / "file"} << "x";
    auto health = check_data_dir(dir / "file", 1);
    CHECK_FALSE(health.writable);
    CHECK(starts_with(health.problem, "data dir " + (dir / "file") + " is not writable (Not a "));
  }
}

TEST_CASE("a data dir below the minimum free space is nearly full, and says by how much") {
  temp_dir dir;
  auto health = check_data_dir(dir.path(), std::numeric_limits<uint64_t>::max());
  CHECK(health.writable);
  CHECK(health.free_bytes > 0);
  CHECK(starts_with(health.problem, "data dir nearly full: "));
  CHECK(health.problem.find("GiB free of ") != std::string::npos);
  CHECK(health.problem.find("; writes there may fail") != std::string::npos);
}
