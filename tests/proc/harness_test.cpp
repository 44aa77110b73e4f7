// The harness itself: commands are bounded by their timeout, output and exit codes are captured,
// SIGSTOP/SIGCONT and restart work, and a cluster leaves no process (not even the job a SIGKILLed
// node orphaned) and, when its test passed, no directory behind.

#include <dirent.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <catch2/catch.hpp>

#include "cluster.hpp"

using namespace claud::test;

namespace {

/// The parent pid of `pid` from /proc, or 0 when it is gone.
pid_t parent_of(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto close = stat.rfind(')');
  if (close == std::string::npos)
    return 0;
  std::istringstream rest(stat.substr(close + 1));
  std::string state;
  pid_t ppid = 0;
  rest >> state >> ppid;
  return state == "Z" ? 0 : ppid; // a zombie has ended
}

/// The children of `parent` (from /proc).
std::vector<pid_t> children_of(pid_t parent) {
  std::vector<pid_t> children;
  DIR* proc = ::opendir("/proc");
  while (auto* entry = proc ? ::readdir(proc) : nullptr) {
    char* end = nullptr;
    long pid = std::strtol(entry->d_name, &end, 10);
    if (pid > 0 && *end == '\0' && parent_of(static_cast<pid_t>(pid)) == parent)
      children.push_back(static_cast<pid_t>(pid));
  }
  if (proc)
    ::closedir(proc);
  return children;
}

bool gone(pid_t pid) {
  return parent_of(pid) == 0 && (::kill(pid, 0) != 0 && errno == ESRCH);
}

} // namespace

TEST_CASE("run_process captures output and exit code, and bounds the time") {
  auto r = run_process({"/bin/sh", "-c", "echo out; echo err >&2; exit 3"}, 10s);
  CHECK(r.exit_code == 3);
  CHECK(r.out == "out\n");
  CHECK(r.err == "err\n");
  CHECK_FALSE(r.timed_out);

  auto started = std::chrono::steady_clock::now();
  auto slow = run_process({"/bin/sleep", "30"}, 300ms);
  CHECK(slow.timed_out);
  CHECK(slow.exit_code == 128 + SIGKILL);
  CHECK(std::chrono::steady_clock::now() - started < 5s);
}

TEST_CASE("json parses protobuf's JSON and names what is missing") {
  auto doc = json::parse(R"([{"id":"1","exit_code":null,"cpus":0.5,"command":["a","b"]}])");
  REQUIRE(doc.size() == 1);
  CHECK(doc[0]["id"].str() == "1");
  CHECK(doc[0]["exit_code"].is_null());
  CHECK(doc[0]["cpus"].num() == 0.5);
  CHECK(doc[0]["command"][1].str() == "b");
  CHECK_THROWS_WITH(doc[0]["nope"], Catch::Contains("nope"));
  CHECK_THROWS(doc[0]["id"].num());
  CHECK_THROWS(json::parse("{not json"));
}

TEST_CASE("a cluster stops, continues, restarts and cleans up its processes") {
  std::string root;
  pid_t node_pid = 0;
  pid_t job_pid = 0;
  {
    cluster c;
    root = c.root();
    auto& dev = c.start_dev("dev");

    // A stopped node does not answer, and answers again once continued.
    c.kill("dev", SIGSTOP);
    auto frozen = c.run({"nodes"}, 1s);
    CHECK(frozen.exit_code != 0);
    c.kill("dev", SIGCONT);
    c.wait_until("the node answers again", [&] { return c.run({"nodes"}).exit_code == 0; });

    // A SIGKILLed node orphans its job; the job is re-parented to the test process.
    auto id = c.submit({"sleep", "30"});
    c.wait_job_state(id, "running");
    node_pid = dev.pid;
    auto children = children_of(node_pid);
    REQUIRE(children.size() == 1);
    job_pid = children[0];
    c.kill("dev", SIGKILL);
    CHECK(dev.pid == 0);
    CHECK(gone(node_pid));
    c.wait_until("the orphaned job is the test's child",
                 [&] { return parent_of(job_pid) == ::getpid(); });

    // The node restarts on the same data dir and port, and still knows the job.
    auto address = dev.address;
    c.restart("dev");
    CHECK(dev.address == address);
    CHECK(dev.incarnation == 2);
    CHECK(c.job(id)["id"].str() == id);
  }
  // The cluster is gone: its node, the orphaned job and (the test passed) its directory.
  CHECK(gone(job_pid));
  CHECK_FALSE(std::filesystem::exists(root));
}
