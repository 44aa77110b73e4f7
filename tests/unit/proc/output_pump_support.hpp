#pragma once
// What the output_pump tests share: a recorder of drain callbacks, bounded waits for files and
// writes, and a fixture with a scratch dir, a recorder and a pump.

#include "proc/output_pump.hpp"

#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include "proc/spawn.hpp"
#include "test_support.hpp"

namespace claud::proc::test {

inline bool exists(const std::string& path) {
  struct stat info;
  return ::stat(path.c_str(), &info) == 0;
}

// One call of the drained callback, with the stream's file as it was when the call came.
struct drain_call {
  uint64_t token = 0;
  std::string error;
  std::thread::id thread;
  std::optional<std::string> file; // nullopt: no file at the watched path then
};

// Collects callbacks; tests block on it with a deadline instead of sleeping.
class drain_recorder {
public:
  // The callback for `token` also reads the file at `path` as it is at that moment.
  void watch(uint64_t token, std::string path) {
    std::lock_guard<std::mutex> lock{mutex_};
    paths_[token] = std::move(path);
  }

  void operator()(uint64_t token, const std::string& error) {
    drain_call call{token, error, std::this_thread::get_id(), std::nullopt};
    std::string path;
    {
      std::lock_guard<std::mutex> lock{mutex_};
      auto found = paths_.find(token);
      if (found != paths_.end())
        path = found->second;
    }
    if (!path.empty() && exists(path))
      call.file = read_file(path);
    std::lock_guard<std::mutex> lock{mutex_};
    calls_.push_back(std::move(call));
    changed_.notify_all();
  }

  // True once at least `count` callbacks arrived, false if the deadline passed first.
  bool wait_for(size_t count) {
    std::unique_lock<std::mutex> lock{mutex_};
    return changed_.wait_for(lock, deadline, [&] { return calls_.size() >= count; });
  }

  std::vector<drain_call> calls() const {
    std::lock_guard<std::mutex> lock{mutex_};
    return calls_;
  }

  drain_call only_call() const {
    std::lock_guard<std::mutex> lock{mutex_};
    REQUIRE(calls_.size() == 1);
    return calls_.front();
  }

private:
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::map<uint64_t, std::string> paths_;
  std::vector<drain_call> calls_;
};

inline output_pump::drained_callback into(drain_recorder& recorder) {
  return [&recorder](uint64_t token, const std::string& error) { recorder(token, error); };
}

inline std::chrono::milliseconds left_until(std::chrono::steady_clock::time_point until) {
  auto left = until - std::chrono::steady_clock::now();
  return std::chrono::duration_cast<std::chrono::milliseconds>(left);
}

// Writes `data` to the blocking write end of a pipe without ever blocking past the deadline: each
// write waits for POLLOUT and is at most PIPE_BUF bytes, which a pipe with room takes at once.
// False if the reader stopped taking bytes for that long.
inline bool write_all(int fd, std::string_view data) {
  auto until = std::chrono::steady_clock::now() + deadline;
  while (!data.empty()) {
    auto left = left_until(until);
    if (left.count() <= 0)
      return false;
    pollfd entry{fd, POLLOUT, 0};
    int ready = ::poll(&entry, 1, static_cast<int>(left.count()));
    if (ready < 0 && errno == EINTR)
      continue;
    if (ready <= 0)
      return false;
    ssize_t written = ::write(fd, data.data(), std::min<size_t>(data.size(), PIPE_BUF));
    if (written < 0 && errno == EINTR)
      continue;
    if (written <= 0)
      return false;
    data.remove_prefix(static_cast<size_t>(written));
  }
  return true;
}

// Waits (inotify, bounded) until `name` exists in `dir`. False if the deadline passed first.
inline bool wait_until_created(const std::string& dir, const std::string& name) {
  unique_fd watcher{::inotify_init1(IN_NONBLOCK | IN_CLOEXEC)};
  REQUIRE(watcher.valid());
  REQUIRE(::inotify_add_watch(watcher.get(), dir.c_str(), IN_CREATE) >= 0);
  if (exists(dir + "/" + name))
    return true;
  auto until = std::chrono::steady_clock::now() + deadline;
  alignas(inotify_event) char buffer[4096];
  for (;;) {
    auto left = left_until(until);
    if (left.count() <= 0)
      return false;
    pollfd entry{watcher.get(), POLLIN, 0};
    int ready = ::poll(&entry, 1, static_cast<int>(left.count()));
    if (ready < 0 && errno == EINTR)
      continue;
    if (ready <= 0)
      return false;
    ssize_t got = ::read(watcher.get(), buffer, sizeof(buffer));
    if (got < 0 && (errno == EAGAIN || errno == EINTR))
      continue;
    if (got <= 0)
      return false;
    for (ssize_t at = 0; at < got;) {
      const auto* event = reinterpret_cast<const inotify_event*>(buffer + at);
      if (event->len > 0 && name == event->name)
        return true;
      at += static_cast<ssize_t>(sizeof(inotify_event) + event->len);
    }
  }
}

// "1\n2\n...\n<count>\n", what `seq 1 <count>` prints.
inline std::string numbers_up_to(int count) {
  std::string text;
  for (int i = 1; i <= count; ++i)
    text += std::to_string(i) + "\n";
  return text;
}

// Blocks SIGPIPE in this thread while a test writes to a pipe nobody reads, and discards the
// SIGPIPE that write left pending.
class sigpipe_blocked {
public:
  sigpipe_blocked() {
    sigemptyset(&pipe_only_);
    sigaddset(&pipe_only_, SIGPIPE);
    ::pthread_sigmask(SIG_BLOCK, &pipe_only_, &saved_);
  }
  ~sigpipe_blocked() {
    timespec zero{0, 0};
    while (::sigtimedwait(&pipe_only_, nullptr, &zero) == SIGPIPE) {
    }
    ::pthread_sigmask(SIG_SETMASK, &saved_, nullptr);
  }
  sigpipe_blocked(const sigpipe_blocked&) = delete;
  sigpipe_blocked& operator=(const sigpipe_blocked&) = delete;

private:
  sigset_t pipe_only_;
  sigset_t saved_;
};

// A pump whose callbacks a recorder keeps, writing into a scratch directory.
struct pump_fixture {
  explicit pump_fixture(uint64_t max_bytes = default_max_output_bytes)
      : pump{into(recorder), max_bytes} {}

  scratch_dir dir;
  drain_recorder recorder;
  output_pump pump;

  // A new stream into `path`, reported with `token`; the pump holds its read end.
  output_pipe stream_into(const std::string& path, uint64_t token) {
    auto pipe = make_output_pipe();
    recorder.watch(token, path);
    pump.add(std::move(pipe.read_end), path, token);
    return pipe;
  }
};

} // namespace claud::proc::test
