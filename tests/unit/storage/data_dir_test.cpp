// data_dir: creation, the lock (in this process and against another process), node ids and
// subdirectories, with the one-line errors a user sees.
#include "storage/data_dir.hpp"

#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <regex>
#include <stdexcept>

#include "storage/storage_error.hpp"
#include "temp_dir.hpp"

using namespace claud::storage;
using claud::storage::test::read_bytes;
using claud::storage::test::temp_dir;
using claud::storage::test::write_bytes;

namespace {

std::string open_error(const std::string& path) {
  try {
    data_dir::open(path);
  } catch (const storage_error& e) {
    return e.what();
  }
  return "";
}

} // namespace

TEST_CASE("open creates the directory and its parents and writes our pid into the lock") {
  temp_dir tmp;
  auto dir = data_dir::open(tmp / "a/b/data/");
  CHECK(dir.path() == tmp / "a/b/data");
  CHECK(std::filesystem::is_directory(tmp / "a/b/data"));
  CHECK(read_bytes(tmp / "a/b/data/lock") == std::to_string(::getpid()) + "\n");
}

TEST_CASE("a second open of a locked data dir fails until the first is released") {
  temp_dir tmp;
  std::string path = tmp / "data";
  {
    auto first = data_dir::open(path);
    std::string message = open_error(path);
    CHECK(message
          == "data dir " + path + " is already used by another running claud (pid "
                 + std::to_string(::getpid()) + "); stop it or choose another --data-dir");
    // A move hands the lock over; it is not released in between.
    data_dir second = std::move(first);
    CHECK_FALSE(open_error(path).empty());
  }
  CHECK_NOTHROW(data_dir::open(path));
}

TEST_CASE("the lock holds against another process and names its pid") {
  temp_dir tmp;
  std::string path = tmp / "data";
  int locked[2];
  int release[2];
  REQUIRE(::pipe(locked) == 0);
  REQUIRE(::pipe(release) == 0);
  pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    // The child must never return into Catch: _exit on every path.
    int code = 0;
    try {
      auto dir = data_dir::open(path);
      char byte = 'L';
      code = ::write(locked[1], &byte, 1) == 1 ? 0 : 2;
      if (::read(release[0], &byte, 1) != 1)
        code = 3;
    } catch (const std::exception&) {
      code = 1;
    }
    ::_exit(code);
  }
  char byte = 0;
  REQUIRE(::read(locked[0], &byte, 1) == 1);
  std::string message = open_error(path);
  CHECK(message.find("(pid " + std::to_string(child) + ")") != std::string::npos);
  REQUIRE(::write(release[1], &byte, 1) == 1);
  int status = 0;
  REQUIRE(::waitpid(child, &status, 0) == child);
  CHECK((WIFEXITED(status) && WEXITSTATUS(status) == 0));
  for (int fd : {locked[0], locked[1], release[0], release[1]})
    ::close(fd);
  CHECK_NOTHROW(data_dir::open(path));
}

TEST_CASE("a path that cannot be a directory is refused with advice") {
  temp_dir tmp;
  write_bytes(tmp / "file", "not a directory");
  CHECK(open_error(tmp / "file/sub")
        == "data dir " + tmp / "file/sub"
               + " cannot be used (Not a directory); choose another --data-dir");
  CHECK_THAT(open_error(tmp / "file"), Catch::Contains("choose another --data-dir"));
  CHECK_THAT(open_error(""), Catch::Contains("pass --data-dir"));
}

TEST_CASE("a read-only data dir is not writable") {
  temp_dir tmp;
  std::filesystem::create_directories(tmp / "ro");
  ::chmod(tmp.path().c_str(), 0755);
  ::chmod((tmp / "ro").c_str(), 0555);
  std::string expected = "data dir " + tmp / "ro"
                         + " is not writable (Permission denied); choose another --data-dir";
  if (::geteuid() != 0) {
    CHECK(open_error(tmp / "ro") == expected);
    return;
  }
  // Permission bits do not stop root: check as the unprivileged user "nobody" in a child process.
  pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    // The child must never return into Catch: _exit on every path.
    if (::setgid(65534) != 0 || ::setuid(65534) != 0)
      ::_exit(2);
    try {
      ::_exit(open_error(tmp / "ro") == expected ? 0 : 1);
    } catch (const std::exception&) {
      ::_exit(3);
    }
  }
  int status = 0;
  REQUIRE(::waitpid(child, &status, 0) == child);
  REQUIRE(WIFEXITED(status));
  if (WEXITSTATUS(status) == 2)
    WARN("skipped: cannot switch to uid 65534 to test permissions as a non-root user");
  else
    CHECK(WEXITSTATUS(status) == 0);
}

TEST_CASE("a generated node id is stored durably and kept") {
  temp_dir tmp;
  std::string id;
  {
    auto dir = data_dir::open(tmp / "data");
    id = dir.node_id("");
    CHECK(std::regex_match(id, std::regex("[A-Za-z0-9._-]{1,55}-[0-9a-f]{8}")));
    CHECK(data_dir::valid_node_id(id));
    CHECK(dir.node_id("") == id);
    CHECK(dir.node_id(id) == id);
  }
  CHECK(read_bytes(tmp / "data/node-id") == id + "\n");
  CHECK_FALSE(std::filesystem::exists(tmp / "data/node-id.tmp"));
  auto dir = data_dir::open(tmp / "data");
  CHECK(dir.node_id("") == id);
}

TEST_CASE("a wanted node id is stored, and a different one is refused later") {
  temp_dir tmp;
  auto dir = data_dir::open(tmp / "data");
  CHECK(dir.node_id("m1") == "m1");
  CHECK(dir.node_id("") == "m1");
  CHECK_THROWS_WITH(dir.node_id("m2"), "data dir " + tmp / "data"
                                           + " belongs to node m1, not m2; pass --node-id=m1 or "
                                             "choose another --data-dir");
}

TEST_CASE("an incarnation is made once per data dir, kept, and a corrupt one is refused") {
  temp_dir tmp;
  uint64_t first = 0;
  {
    auto dir = data_dir::open(tmp / "a");
    first = dir.incarnation();
    CHECK(first != 0);
    CHECK(dir.incarnation() == first);
  }
  CHECK(read_bytes(tmp / "a/incarnation") == std::to_string(first) + "\n");
  CHECK(data_dir::open(tmp / "a").incarnation() == first); // a restart keeps it
  CHECK(data_dir::open(tmp / "b").incarnation() != first); // another data dir differs
  write_bytes(tmp / "a/incarnation", "12x\n");
  CHECK_THROWS_WITH(data_dir::open(tmp / "a").incarnation(),
                    tmp / "a/incarnation"
                        + " does not hold an incarnation (a number other than 0); remove that "
                          "file, and the node gets a new one");
}

TEST_CASE("node ids are validated") {
  temp_dir tmp;
  auto dir = data_dir::open(tmp / "data");
  CHECK(data_dir::valid_node_id("master-1.example_A"));
  CHECK(data_dir::valid_node_id(std::string(64, 'a')));
  CHECK_FALSE(data_dir::valid_node_id(std::string(65, 'a')));
  CHECK_FALSE(data_dir::valid_node_id(""));
  CHECK_FALSE(data_dir::valid_node_id("a b"));
  CHECK_FALSE(data_dir::valid_node_id("a/b"));
  CHECK_THROWS_AS(dir.node_id("a b"), storage_error);
  CHECK_THROWS_AS(dir.node_id(std::string(65, 'a')), storage_error);
  CHECK_FALSE(std::filesystem::exists(tmp / "data/node-id"));
  write_bytes(tmp / "data/node-id", "bad id\n");
  CHECK_THROWS_WITH(dir.node_id(""), Catch::Contains("does not hold a valid node id"));
}

TEST_CASE("subdir creates nested directories inside the data dir only") {
  temp_dir tmp;
  auto dir = data_dir::open(tmp / "data");
  CHECK(dir.subdir("raft") == tmp / "data/raft");
  CHECK(dir.subdir("jobs/j1/0") == tmp / "data/jobs/j1/0");
  CHECK(std::filesystem::is_directory(tmp / "data/jobs/j1/0"));
  CHECK_THROWS_AS(dir.subdir("/etc"), std::invalid_argument);
  CHECK_THROWS_AS(dir.subdir("../x"), std::invalid_argument);
  CHECK_THROWS_AS(dir.subdir("a/../../x"), std::invalid_argument);
  CHECK_THROWS_AS(dir.subdir(""), std::invalid_argument);
  write_bytes(tmp / "data/plain", "x");
  CHECK_THROWS_WITH(dir.subdir("plain/sub"), Catch::Contains("cannot create directory"));
}
