// The example actor scripts (examples/), each run against a real 3-master, 2-slave cluster as a
// user would run it: fan-out/fan-in, a pipeline, a supervisor that outlives a SIGKILLed slave,
// and a retry with more memory after an out-of-memory failure.

#include <sys/wait.h>

#include <csignal>
#include <cstdio>
#include <fcntl.h>
#include <thread>
#include <unistd.h>

#include <catch2/catch.hpp>

#include "cluster.hpp"

using namespace claud::test;

namespace {

std::string example(const std::string& name) {
  return std::string{CLAUD_EXAMPLES_DIR} + "/" + name;
}

/// The masters of `c`, comma-separated, for an example's first argument.
std::string masters(cluster& c) {
  return c.cluster_address();
}

/// An example running in the background, its stdout in a file; killed by its PID at the end.
class background {
public:
  background(const std::string& root, std::vector<std::string> args) : out_(root + "/bg.out") {
    int fd = ::open(out_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
      fail("cannot open " + out_ + ": " + errno_text());
    pid_ = spawn_child(args, fd, fd);
    ::close(fd);
  }
  ~background() {
    if (pid_ > 0) {
      kill_group(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  std::string output() const {
    return read_file(out_);
  }
  /// Waits until the output contains `text` `times` times.
  void wait_for(const std::string& text, size_t times, milliseconds timeout) const {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (count(text) < times) {
      if (std::chrono::steady_clock::now() > deadline)
        fail("the example printed \"" + text + "\" fewer than " + std::to_string(times)
             + " times: " + tail(output()));
      std::this_thread::sleep_for(50ms);
    }
  }
  /// Its exit code once it has exited by itself within `timeout`.
  int wait_exit(milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return exit_code_of(status);
      }
      if (std::chrono::steady_clock::now() > deadline)
        fail("the example did not exit: " + tail(output()));
      std::this_thread::sleep_for(50ms);
    }
  }

private:
  size_t count(const std::string& text) const {
    auto all = output();
    size_t n = 0;
    for (auto at = all.find(text); at != std::string::npos; at = all.find(text, at + 1))
      ++n;
    return n;
  }
  std::string out_;
  pid_t pid_ = -1;
};

/// The jobs whose names start with `prefix`, in state `state`.
std::vector<json> jobs_named(cluster& c, const std::string& prefix, const std::string& state) {
  std::vector<json> out;
  for (const auto& job : c.jobs().items())
    if (job["name"].str().rfind(prefix, 0) == 0 && job["state"].str() == state)
      out.push_back(job);
  return out;
}

void start_cluster(cluster& c) {
  c.start_masters({"m1", "m2", "m3"});
  c.start_slave("s1", "2", "2G");
  c.start_slave("s2", "2", "2G");
}

} // namespace

TEST_CASE("fan_out submits every job, hears every end, and sums them up") {
  cluster c;
  start_cluster(c);
  auto run = run_process({example("fan_out"), masters(c), "100"}, 60s);
  INFO(run.describe());
  REQUIRE(run.exit_code == 0);
  CHECK(run.out.find("100 jobs ended in") != std::string::npos);
  CHECK(run.out.find(": 90 succeeded, 10 failed\n") != std::string::npos);
  CHECK(jobs_named(c, "fan-", "succeeded").size() == 90);
}

TEST_CASE("pipeline submits each second stage from the first stage's result") {
  cluster c;
  start_cluster(c);
  auto run = run_process({example("pipeline"), masters(c), "6"}, 60s);
  INFO(run.describe());
  REQUIRE(run.exit_code == 0);
  for (int item : {0, 3})
    CHECK(run.out.find("item " + std::to_string(item) + ": publish succeeded")
          != std::string::npos);
  for (int item : {1, 2, 4, 5})
    CHECK(run.out.find("item " + std::to_string(item) + ": remeasure succeeded")
          != std::string::npos);
  CHECK(run.out.find("pipeline done: 6 items") != std::string::npos);
  CHECK(jobs_named(c, "pipe-", "succeeded").size() == 2 + 4 + 2);
}

TEST_CASE("supervisor keeps its copies running when their slave is SIGKILLed") {
  cluster c;
  start_cluster(c);
  background supervisor{c.root(), {example("supervisor"), masters(c), "3", "20", "sleep 1000"}};
  supervisor.wait_for(" running on ", 3, 20s);
  auto running = jobs_named(c, "svc-", "running");
  REQUIRE(running.size() == 3);
  const auto victim = running.front()["node"].str();
  size_t on_victim = 0;
  for (const auto& job : running)
    on_victim += job["node"].str() == victim;
  c.kill(victim, SIGKILL);
  supervisor.wait_for("was lost", on_victim, 20s);
  supervisor.wait_for(" running on ", 3 + on_victim, 20s);
  auto again = jobs_named(c, "svc-", "running");
  CHECK(again.size() == 3);
  for (const auto& job : again)
    CHECK(job["node"].str() != victim);
  CHECK(supervisor.wait_exit(30s) == 0);
  CHECK(jobs_named(c, "svc-", "running").empty()); // it killed its copies as it stopped
}

TEST_CASE("oom_retry asks for more memory after an out-of-memory failure") {
  cluster c;
  start_cluster(c);
  auto limits = c.node_record("s1")["limits"];
  if (!limits["memory"].boolean()) {
    WARN("not checked here: s1 enforces no memory limit: " << limits["note"].str());
    return;
  }
  auto run = run_process({example("oom_retry"), masters(c),
                          "perl -e '$x = \"a\" x (100 * 1024 * 1024)'", "32M", "512M"},
                         60s);
  INFO(run.describe());
  REQUIRE(run.exit_code == 0);
  CHECK(run.out.find("ran out of its 32 MiB") != std::string::npos);
  CHECK(run.out.find("succeeded with 256 MiB") != std::string::npos);
}
