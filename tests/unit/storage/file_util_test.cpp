// file_util: the POSIX helpers, with the errors a user would see.
#include "storage/file_util.hpp"

#include <catch2/catch.hpp>

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <string>
#include <vector>

#include "storage/storage_error.hpp"
#include "temp_dir.hpp"

using namespace claud::storage;
using claud::storage::test::read_bytes;
using claud::storage::test::temp_dir;
using claud::storage::test::write_bytes;

namespace {

bool is_dir(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

} // namespace

TEST_CASE("make_dirs creates missing parents and accepts existing directories") {
  temp_dir tmp;
  CHECK(file_util::make_dirs(tmp / "a/b/c") == 0);
  CHECK(is_dir(tmp / "a/b/c"));
  CHECK(file_util::make_dirs(tmp / "a/b/c") == 0);
  CHECK(file_util::make_dirs(tmp / "a//b/d/") == 0);
  CHECK(is_dir(tmp / "a/b/d"));
}

TEST_CASE("make_dirs reports a regular file in the way") {
  temp_dir tmp;
  write_bytes(tmp / "file", "x");
  CHECK(file_util::make_dirs(tmp / "file") == ENOTDIR);
  CHECK(file_util::make_dirs(tmp / "file/sub") == ENOTDIR);
}

TEST_CASE("parent_of") {
  CHECK(file_util::parent_of("/a/b/c") == "/a/b");
  CHECK(file_util::parent_of("/a") == "/");
  CHECK(file_util::parent_of("a") == ".");
}

TEST_CASE("write_file_atomically replaces the content and leaves no temporary file") {
  temp_dir tmp;
  file_util::write_file_atomically(tmp / "f", "old");
  file_util::write_file_atomically(tmp / "f", "new content");
  CHECK(read_bytes(tmp / "f") == "new content");
  std::string content;
  CHECK_FALSE(file_util::read_file(tmp / "f.tmp", &content));
  REQUIRE(file_util::read_file(tmp / "f", &content));
  CHECK(content == "new content");
}

TEST_CASE("I/O errors name the path and say what to do") {
  temp_dir tmp;
  try {
    file_util::write_file_atomically(tmp / "missing/f", "x");
    FAIL("expected a storage_error");
  } catch (const storage_error& e) {
    std::string message = e.what();
    CHECK(message.find(tmp / "missing/f.tmp") != std::string::npos);
    CHECK(message.find("No such file or directory") != std::string::npos);
    CHECK(message.find("then restart") != std::string::npos);
  }
  CHECK(file_util::advice_for(ENOSPC).find("free disk space") != std::string::npos);
}

TEST_CASE("list_dir returns the names in a directory") {
  temp_dir tmp;
  CHECK(file_util::list_dir(tmp.path()).empty());
  write_bytes(tmp / "a", "");
  write_bytes(tmp / "b", "");
  auto names = file_util::list_dir(tmp.path());
  std::sort(names.begin(), names.end());
  CHECK(names == std::vector<std::string>{"a", "b"});
  CHECK_THROWS_WITH(file_util::list_dir(tmp / "missing"),
                    Catch::Contains("cannot list directory " + tmp / "missing"));
}

TEST_CASE("numbered names round trip and nothing else parses") {
  CHECK(file_util::numbered_name("log-", 42, ".seg") == "log-00000000000000000042.seg");
  CHECK(file_util::parse_numbered_name("log-00000000000000000042.seg", "log-", ".seg") == 42u);
  CHECK(
      file_util::parse_numbered_name(file_util::numbered_name("s-", UINT64_MAX, ".pb"), "s-", ".pb")
      == UINT64_MAX);
  CHECK_FALSE(file_util::parse_numbered_name("log-00000000000000000042.seg", "snap-", ".seg"));
  CHECK_FALSE(file_util::parse_numbered_name("log-00000000000000000042.seg", "log-", ".pb"));
  CHECK_FALSE(file_util::parse_numbered_name("log-42.seg", "log-", ".seg"));
  CHECK_FALSE(file_util::parse_numbered_name("log-0000000000000000004x.seg", "log-", ".seg"));
  CHECK_FALSE(file_util::parse_numbered_name("log-99999999999999999999.seg", "log-", ".seg"));
}
