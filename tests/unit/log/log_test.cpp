// log: the level policy ("debug", "raft@debug,warn"), enabled() per module, refusals of bad levels
// that keep the old policy, and the key=value line that write() puts on stderr.
#include "log/log.hpp"

#include <catch2/catch.hpp>

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

namespace logging = claud::log;
using Catch::Matchers::Contains;
using claud::log::level;

namespace {

/// Restores the default policy after each test, so test order does not matter.
struct default_policy {
  default_policy() {
    logging::configure("");
  }
  ~default_policy() {
    logging::configure("");
  }
};

/// Everything written to stderr (fd 2) while `body` runs.
template<class Body>
std::string capture_stderr(Body body) {
  char path[] = "/tmp/claud-log-test-XXXXXX";
  int fd = ::mkstemp(path);
  REQUIRE(fd >= 0);
  int saved = ::dup(STDERR_FILENO);
  ::dup2(fd, STDERR_FILENO);
  body();
  ::dup2(saved, STDERR_FILENO);
  ::close(saved);
  ::close(fd);
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  std::remove(path);
  return text.str();
}

} // namespace

TEST_CASE_METHOD(default_policy, "quiet by default: errors and warnings only") {
  CHECK(logging::enabled("raft", level::error));
  CHECK(logging::enabled("raft", level::warn));
  CHECK_FALSE(logging::enabled("raft", level::info));
  CHECK_FALSE(logging::enabled("raft", level::debug));
}

TEST_CASE_METHOD(default_policy, "a bare level sets every module's level") {
  logging::configure("debug");
  CHECK(logging::enabled("raft", level::debug));
  CHECK(logging::enabled("sched", level::info));
  logging::configure("error");
  CHECK(logging::enabled("raft", level::error));
  CHECK_FALSE(logging::enabled("raft", level::warn));
}

TEST_CASE_METHOD(default_policy, "MODULE@LEVEL sets one module; the bare level the rest") {
  logging::configure("raft@debug,warn");
  CHECK(logging::enabled("raft", level::debug));
  CHECK(logging::enabled("sched", level::warn));
  CHECK_FALSE(logging::enabled("sched", level::info));
  CHECK_FALSE(logging::enabled("raf", level::debug));

  logging::configure("sched@error,api@info,debug");
  CHECK_FALSE(logging::enabled("sched", level::warn));
  CHECK(logging::enabled("api", level::info));
  CHECK_FALSE(logging::enabled("api", level::debug));
  CHECK(logging::enabled("raft", level::debug));

  logging::configure("api@info"); // a later policy replaces the earlier one whole
  CHECK_FALSE(logging::enabled("raft", level::info));
  CHECK_FALSE(logging::enabled("sched", level::info));
}

TEST_CASE_METHOD(default_policy, "a bad level throws naming it and keeps the old policy") {
  logging::configure("raft@debug");
  for (const char* bad : {"verbose", "raft@loud", "DEBUG", "raft@", "info,trace", ",info"}) {
    INFO(bad);
    CHECK_THROWS_AS(logging::configure(bad), std::invalid_argument);
  }
  CHECK_THROWS_WITH(logging::configure("raft@loud"),
                    "unknown log level 'loud'; use error, warn, info or debug");
  CHECK(logging::enabled("raft", level::debug));
  CHECK_FALSE(logging::enabled("sched", level::info));
}

TEST_CASE_METHOD(default_policy, "write prints one key=value line, quoting where needed") {
  logging::configure("test@info");
  auto text = capture_stderr([] {
    logging::info("test", "job placed", {{"job", "12"}, {"node", "slave 1"}, {"why", "a \"b\""}});
    logging::debug("test", "not shown");
    logging::warn("other", "shown");
  });
  auto first = text.substr(0, text.find('\n'));
  CHECK(first.rfind("ts=", 0) == 0);
  CHECK_THAT(first, Contains("Z level=info module=test msg=\"job placed\" job=12 "
                             "node=\"slave 1\" why=\"a \\\"b\\\"\""));
  CHECK(text.find("not shown") == std::string::npos);
  CHECK_THAT(text, Contains("level=warn module=other msg=shown\n"));
  CHECK(std::count(text.begin(), text.end(), '\n') == 2);
}
