#include "proc/reaper.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <condition_variable>
#include <map>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include "proc/spawn.hpp"
#include "test_support.hpp"

using claud::unique_fd;
using namespace claud::proc;
using namespace claud::proc::test;

namespace {

// Collects callbacks; tests block on it with a deadline instead of sleeping.
class exit_recorder {
public:
  void operator()(pid_t pid, exit_status status) {
    std::lock_guard<std::mutex> lock{mutex_};
    exits_[pid].push_back(status);
    threads_.push_back(std::this_thread::get_id());
    ++total_;
    changed_.notify_all();
  }

  // True once at least `count` callbacks arrived, false if the deadline passed first.
  bool wait_for(size_t count) {
    std::unique_lock<std::mutex> lock{mutex_};
    return changed_.wait_for(lock, deadline, [&] { return total_ >= count; });
  }

  std::map<pid_t, std::vector<exit_status>> exits() const {
    std::lock_guard<std::mutex> lock{mutex_};
    return exits_;
  }

  std::vector<std::thread::id> threads() const {
    std::lock_guard<std::mutex> lock{mutex_};
    return threads_;
  }

  exit_status only_exit_of(pid_t pid) const {
    std::lock_guard<std::mutex> lock{mutex_};
    auto found = exits_.find(pid);
    REQUIRE(found != exits_.end());
    REQUIRE(found->second.size() == 1);
    return found->second.front();
  }

private:
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::map<pid_t, std::vector<exit_status>> exits_;
  std::vector<std::thread::id> threads_;
  size_t total_ = 0;
};

// Makes this process the reaper of orphaned descendants while a test runs, so a grandchild killed
// with its group becomes our child and its death can be waited for instead of polled.
class subreaper_scope {
public:
  subreaper_scope() {
    REQUIRE(::prctl(PR_SET_CHILD_SUBREAPER, 1) == 0);
  }
  ~subreaper_scope() {
    ::prctl(PR_SET_CHILD_SUBREAPER, 0);
  }
};

// Starts `script` with its stdout on a FIFO and returns the pid of its child and the first line
// it printed (the script must echo $! first).
struct script_with_child {
  pid_t pid = 0;
  pid_t grandchild_pid = 0;
};

script_with_child start_script(const scratch_dir& dir, const std::string& script,
                               child_guard& guard) {
  auto fifo = dir.file("fifo");
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  // Opened for reading first, so opening it for the child's stdout does not block.
  unique_fd reader{::open(fifo.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC)};
  REQUIRE(reader.valid());
  auto request = request_in(dir, {"sh", "-c", script});
  request.stdout_path = fifo;
  script_with_child started;
  started.pid = guard.add(spawn_process(request));
  auto line = read_line(reader.get());
  REQUIRE(line.has_value());
  started.grandchild_pid = guard.add(std::stoi(*line));
  return started;
}

} // namespace

TEST_CASE("an exit code is reported on the reaper's thread and leaves no zombie",
          "[proc][reaper]") {
  scratch_dir dir;
  child_guard guard;
  exit_recorder recorder;
  reaper watcher{std::ref(recorder)};
  pid_t pid = guard.add(spawn_process(request_in(dir, {"sh", "-c", "exit 3"})));
  watcher.watch(pid);
  REQUIRE(recorder.wait_for(1));
  auto status = recorder.only_exit_of(pid);
  CHECK(status.exited);
  CHECK(status.code == 3);
  CHECK(recorder.threads().front() != std::this_thread::get_id());
  CHECK(watcher.watched_count() == 0);
  CHECK_FALSE(is_unreaped_child(pid));
}

TEST_CASE("a process killed through its group reports the signal", "[proc][reaper]") {
  scratch_dir dir;
  child_guard guard;
  exit_recorder recorder;
  reaper watcher{std::ref(recorder)};
  pid_t pid = guard.add(spawn_process(request_in(dir, {"sleep", "100"})));
  watcher.watch(pid);
  CHECK(watcher.watched_count() == 1);
  REQUIRE(signal_process_group(pid, SIGKILL));
  REQUIRE(recorder.wait_for(1));
  auto status = recorder.only_exit_of(pid);
  CHECK_FALSE(status.exited);
  CHECK(status.signal == SIGKILL);
  CHECK(status.describe() == "killed by signal 9 (SIGKILL)");
  CHECK(watcher.watched_count() == 0);
}

TEST_CASE("killing the group also kills a grandchild", "[proc][reaper]") {
  scratch_dir dir;
  subreaper_scope adopt_orphans;
  child_guard guard;
  exit_recorder recorder;
  reaper watcher{std::ref(recorder)};
  auto started = start_script(dir, "sleep 100 & echo $!; wait", guard);
  watcher.watch(started.pid);
  CHECK(::getpgid(started.grandchild_pid) == started.pid);
  REQUIRE(signal_process_group(started.pid, SIGKILL));
  REQUIRE(recorder.wait_for(1));
  CHECK(recorder.only_exit_of(started.pid).signal == SIGKILL);
  // The shell's exit handed the grandchild to us (subreaper): its death is now ours to observe.
  auto grandchild = wait_and_reap(started.grandchild_pid);
  REQUIRE(grandchild.has_value());
  CHECK_FALSE(grandchild->exited);
  CHECK(grandchild->signal == SIGKILL);
  CHECK(::kill(started.grandchild_pid, 0) == -1);
}

TEST_CASE("the group outlives its leader and can still be killed", "[proc][reaper]") {
  scratch_dir dir;
  subreaper_scope adopt_orphans;
  child_guard guard;
  exit_recorder recorder;
  reaper watcher{std::ref(recorder)};
  // The shell exits at once and leaves sleep behind in the job's group.
  auto started = start_script(dir, "sleep 100 & echo $!", guard);
  watcher.watch(started.pid);
  REQUIRE(recorder.wait_for(1));
  CHECK(recorder.only_exit_of(started.pid).code == 0);
  CHECK(signal_process_group(started.pid, SIGKILL));
  auto grandchild = wait_and_reap(started.grandchild_pid);
  REQUIRE(grandchild.has_value());
  CHECK(grandchild->signal == SIGKILL);
  CHECK_FALSE(signal_process_group(started.pid, SIGKILL));
}

TEST_CASE("200 concurrent processes watched from 4 threads are each reported once",
          "[proc][reaper]") {
  constexpr int thread_count = 4;
  constexpr int per_thread = 50;
  scratch_dir dir;
  std::vector<pid_t> pids[thread_count];
  child_guard guard; // filled after the threads join; the reaper reaps everything before that
  exit_recorder recorder;
  {
    reaper watcher{std::ref(recorder)};
    std::vector<std::thread> threads;
    std::string errors[thread_count];
    for (int t = 0; t < thread_count; ++t) {
      threads.emplace_back([&, t] {
        try {
          for (int i = 0; i < per_thread; ++i) {
            pid_t pid = spawn_process(request_in(dir, {"true"}));
            pids[t].push_back(pid);
            watcher.watch(pid);
          }
        } catch (const std::exception& error) {
          errors[t] = error.what(); // reported on the test thread: Catch is not thread safe
        }
      });
    }
    for (auto& thread : threads)
      thread.join();
    for (const auto& some : pids)
      for (pid_t pid : some)
        guard.add(pid);
    for (const auto& error : errors)
      REQUIRE(error.empty());
    REQUIRE(recorder.wait_for(thread_count * per_thread));
    CHECK(watcher.watched_count() == 0);
  }
  auto exits = recorder.exits();
  CHECK(exits.size() == static_cast<size_t>(thread_count * per_thread));
  for (const auto& some : pids) {
    for (pid_t pid : some) {
      auto found = exits.find(pid);
      REQUIRE(found != exits.end());
      REQUIRE(found->second.size() == 1);
      CHECK(found->second.front().exited);
      CHECK(found->second.front().code == 0);
      CHECK_FALSE(is_unreaped_child(pid));
    }
  }
}

TEST_CASE("a child that exited before watch() is still reported", "[proc][reaper]") {
  scratch_dir dir;
  child_guard guard;
  exit_recorder recorder;
  reaper watcher{std::ref(recorder)};
  pid_t pid = guard.add(spawn_process(request_in(dir, {"sh", "-c", "exit 7"})));
  REQUIRE(wait_ended(pid)); // a zombie now, not reaped
  watcher.watch(pid);
  REQUIRE(recorder.wait_for(1));
  CHECK(recorder.only_exit_of(pid).code == 7);
  CHECK_FALSE(is_unreaped_child(pid));
}

TEST_CASE("the callback may watch another child", "[proc][reaper]") {
  scratch_dir dir;
  child_guard guard;
  exit_recorder recorder;
  std::mutex second_mutex;
  pid_t second = 0;
  reaper* self = nullptr;
  reaper watcher{[&](pid_t pid, exit_status status) {
    {
      std::lock_guard<std::mutex> lock{second_mutex};
      if (second == 0) {
        second = guard.add(spawn_process(request_in(dir, {"true"})));
        self->watch(second);
      }
    }
    recorder(pid, status);
  }};
  self = &watcher;
  pid_t first = guard.add(spawn_process(request_in(dir, {"true"})));
  watcher.watch(first);
  REQUIRE(recorder.wait_for(2));
  std::lock_guard<std::mutex> lock{second_mutex};
  CHECK(recorder.only_exit_of(first).code == 0);
  CHECK(recorder.only_exit_of(second).code == 0);
}

TEST_CASE("destroying the reaper neither kills nor reaps running children", "[proc][reaper]") {
  scratch_dir dir;
  child_guard guard;
  exit_recorder recorder;
  pid_t pid = guard.add(spawn_process(request_in(dir, {"sleep", "100"})));
  {
    reaper watcher{std::ref(recorder)};
    watcher.watch(pid);
  }
  CHECK(::kill(pid, 0) == 0);
  CHECK(is_unreaped_child(pid));
  REQUIRE(signal_process_group(pid, SIGKILL));
  REQUIRE(wait_and_reap(pid).has_value());
  CHECK(recorder.exits().empty());
}

TEST_CASE("watch() refuses what it cannot report", "[proc][reaper]") {
  scratch_dir dir;
  child_guard guard;
  exit_recorder recorder;
  reaper watcher{std::ref(recorder)};

  SECTION("a process that is not our child") {
    CHECK_THROWS_AS(watcher.watch(::getppid()), std::invalid_argument);
  }
  SECTION("a child already reaped") {
    pid_t pid = guard.add(spawn_process(request_in(dir, {"true"})));
    REQUIRE(wait_and_reap(pid).has_value());
    CHECK_THROWS_AS(watcher.watch(pid), std::invalid_argument);
  }
  SECTION("a pid watched twice") {
    pid_t pid = guard.add(spawn_process(request_in(dir, {"sleep", "100"})));
    watcher.watch(pid);
    CHECK_THROWS_AS(watcher.watch(pid), std::invalid_argument);
    CHECK(watcher.watched_count() == 1);
    REQUIRE(signal_process_group(pid, SIGKILL));
    REQUIRE(recorder.wait_for(1));
    CHECK(recorder.only_exit_of(pid).signal == SIGKILL);
  }
  SECTION("pid 0 or below") {
    CHECK_THROWS_AS(watcher.watch(0), std::invalid_argument);
    CHECK_THROWS_AS(watcher.watch(-1), std::invalid_argument);
  }
  CHECK(watcher.watched_count() == 0);
}

TEST_CASE("an empty callback is refused", "[proc][reaper]") {
  CHECK_THROWS_AS(reaper{reaper::exit_callback{}}, std::invalid_argument);
}
