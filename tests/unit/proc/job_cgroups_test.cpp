// Job cgroups on the machine the test runs on. Where this process cannot make cgroups (no
// permission, a read-only /sys/fs/cgroup, no memory or cpu controller) the tests that need them
// say why and pass without checking: the slave then runs jobs without limits and states so.

#include "proc/job_cgroups.hpp"

#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <thread>

#include <catch2/catch.hpp>
#include <fmt/format.h>

#include "proc/spawn.hpp"
#include "test_support.hpp"

using namespace claud::proc;
using namespace claud::proc::test;

namespace {

constexpr int64_t mib = 1024 * 1024;

// Every test case gets its own subtree, so runs in parallel never touch each other's jobs.
std::string unique_key(const char* test) {
  return fmt::format("test-{}-{}", ::getpid(), test);
}

bool enforces(const job_cgroups& cgroups, bool memory, bool cpu) {
  const auto& e = cgroups.enforcement();
  if ((!memory || e.memory) && (!cpu || e.cpu))
    return true;
  WARN("not checked here: this process cannot make cgroups for jobs: " << e.note);
  return false;
}

pid_t spawn_in(const scratch_dir& dir, const job_cgroup& cgroup, std::vector<std::string> argv) {
  spawn_request request;
  request.argv = std::move(argv);
  request.stdout_path = dir.file("stdout");
  request.stderr_path = dir.file("stderr");
  for (const auto& fd : cgroup.procs_files)
    request.join_cgroups.push_back(fd.get());
  return spawn_process(request);
}

// perl is in every Debian system (perl-base is essential); it allocates exactly what it is told.
std::vector<std::string> allocate(int64_t bytes) {
  return {"perl", "-e", fmt::format("$x = 'a' x {}; print length($x)", bytes)};
}

} // namespace

TEST_CASE("turned off, nothing is enforced and the note says so") {
  job_cgroups cgroups{unique_key("off"), job_cgroups::mode::off};
  CHECK_FALSE(cgroups.enforcement().memory);
  CHECK_FALSE(cgroups.enforcement().cpu);
  CHECK(cgroups.enforcement().mechanism == "none");
  CHECK(cgroups.enforcement().note == "turned off with --cgroups=off");
  CHECK(cgroups.acquire(1000, 64 * mib).procs_files.empty());
}

TEST_CASE("what is enforced comes with a mechanism, what is not with a reason") {
  job_cgroups cgroups{unique_key("statement"), job_cgroups::mode::automatic};
  const auto& e = cgroups.enforcement();
  INFO("mechanism: " << e.mechanism << ", note: " << e.note);
  CHECK((e.mechanism == "none") == (!e.memory && !e.cpu));
  CHECK((e.memory && e.cpu) == e.note.empty());
}

TEST_CASE("a job over its memory limit is killed and its cgroup says why") {
  job_cgroups cgroups{unique_key("over"), job_cgroups::mode::automatic};
  if (!enforces(cgroups, true, false))
    return;
  scratch_dir dir;
  child_guard guard;
  auto cgroup = cgroups.acquire(0, 32 * mib);
  pid_t pid = guard.add(spawn_in(dir, cgroup, allocate(256 * mib)));
  auto status = wait_and_reap(pid);
  REQUIRE(status.has_value());
  CHECK_FALSE(status->exited);
  CHECK(status->signal == SIGKILL);
  CHECK(cgroups.memory_exceeded(cgroup));
  cgroups.release(cgroup);

  SECTION("the next job reuses the cgroup with its own limits and a clean record") {
    auto next = cgroups.acquire(0, 256 * mib);
    CHECK(next.name == cgroup.name);
    CHECK_FALSE(cgroups.memory_exceeded(next));
    pid_t again = guard.add(spawn_in(dir, next, allocate(64 * mib))); // over the old limit
    auto ended = wait_and_reap(again);
    REQUIRE(ended.has_value());
    CHECK(ended->exited);
    CHECK(ended->code == 0);
    CHECK_FALSE(cgroups.memory_exceeded(next));
    cgroups.release(next);
  }
}

TEST_CASE("a job within its memory limit runs to its end") {
  job_cgroups cgroups{unique_key("within"), job_cgroups::mode::automatic};
  if (!enforces(cgroups, true, false))
    return;
  scratch_dir dir;
  child_guard guard;
  auto cgroup = cgroups.acquire(0, 256 * mib);
  pid_t pid = guard.add(spawn_in(dir, cgroup, allocate(16 * mib)));
  auto status = wait_and_reap(pid);
  REQUIRE(status.has_value());
  CHECK(status->exited);
  CHECK(status->code == 0);
  CHECK(read_file(dir.file("stdout")) == std::to_string(16 * mib));
  CHECK_FALSE(cgroups.memory_exceeded(cgroup));
  cgroups.release(cgroup);
}

TEST_CASE("a CPU limit holds a spinning job to its share") {
  job_cgroups cgroups{unique_key("cpu"), job_cgroups::mode::automatic};
  if (!enforces(cgroups, false, true))
    return;
  scratch_dir dir;
  child_guard guard;
  auto cgroup = cgroups.acquire(100, 0); // a tenth of a CPU
  pid_t pid = guard.add(spawn_in(dir, cgroup, {"sh", "-c", "while :; do :; done"}));
  // Unlimited, the loop would use all of the 600 ms; limited, about 60 ms of it.
  std::this_thread::sleep_for(std::chrono::milliseconds{600});
  ::kill(pid, SIGKILL);
  REQUIRE(wait_ended(pid));
  rusage usage{};
  int wait_status = 0;
  REQUIRE(::wait4(pid, &wait_status, 0, &usage) == pid);
  auto used_ms = (usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) * 1000
                 + (usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1000;
  CHECK(used_ms < 250);
  cgroups.release(cgroup);
}

TEST_CASE("a restarted slave kills what its jobs left running before it") {
  auto key = unique_key("leftovers");
  scratch_dir dir;
  child_guard guard;
  pid_t pid = 0;
  {
    job_cgroups before{key, job_cgroups::mode::automatic};
    if (!enforces(before, true, false))
      return;
    pid = guard.add(spawn_in(dir, before.acquire(0, 64 * mib), {"sleep", "30"}));
  } // the slave ends without stopping its job, as when it is SIGKILLed
  job_cgroups after{key, job_cgroups::mode::automatic};
  auto status = wait_and_reap(pid);
  REQUIRE(status.has_value());
  CHECK(status->signal == SIGKILL);
}
