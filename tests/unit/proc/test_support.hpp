#pragma once

// Helpers shared by the proc tests: bounded waits (no sleep-and-hope), a guard that kills what a
// failing test leaves running, and a scratch directory.

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "os/unique_fd.hpp"
#include "proc/exit_status.hpp"
#include "proc/spawn.hpp"

namespace claud::proc::test {

// Generous: only a broken implementation comes near it, and then the test fails instead of hanging.
constexpr std::chrono::milliseconds deadline{10'000};

inline int open_pidfd(pid_t pid) {
  return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
}

// Waits until `pid` (a child) has ended without reaping it. False if the deadline passed.
inline bool wait_ended(pid_t pid, std::chrono::milliseconds timeout = deadline) {
  unique_fd pidfd{open_pidfd(pid)};
  if (!pidfd.valid())
    return false;
  pollfd entry{pidfd.get(), POLLIN, 0};
  int ready;
  do {
    ready = ::poll(&entry, 1, static_cast<int>(timeout.count()));
  } while (ready < 0 && errno == EINTR);
  return ready == 1;
}

// Waits for `pid` (a child) to end and reaps it; nullopt if the deadline passed.
inline std::optional<exit_status> wait_and_reap(pid_t pid,
                                                std::chrono::milliseconds timeout = deadline) {
  if (!wait_ended(pid, timeout))
    return std::nullopt;
  int wait_status = 0;
  if (::waitpid(pid, &wait_status, 0) != pid)
    return std::nullopt;
  return exit_status::from_wait_status(wait_status);
}

// True while `pid` is a child of this process that nobody has reaped yet.
inline bool is_unreaped_child(pid_t pid) {
  siginfo_t info;
  std::memset(&info, 0, sizeof(info));
  return ::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT) == 0;
}

// Kills by pid (and process group) every child a test started and did not see reaped, then reaps
// it, so a failing test leaves no process behind. Declare it before any reaper: the reaper must
// stop first, or both would race to reap the same child.
class child_guard {
public:
  child_guard() = default;
  child_guard(const child_guard&) = delete;
  child_guard& operator=(const child_guard&) = delete;

  ~child_guard() {
    for (pid_t pid : pids_) {
      if (!is_unreaped_child(pid))
        continue; // reaped already: its pid may belong to someone else by now
      ::kill(-pid, SIGKILL);
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
    }
  }

  pid_t add(pid_t pid) {
    pids_.push_back(pid);
    return pid;
  }

private:
  std::vector<pid_t> pids_;
};

// A fresh directory under /tmp, removed with everything in it.
class scratch_dir {
public:
  scratch_dir() {
    char pattern[] = "/tmp/claud-proc-test-XXXXXX";
    if (::mkdtemp(pattern) == nullptr)
      throw std::runtime_error(std::string{"mkdtemp: "} + std::strerror(errno));
    path_ = pattern;
  }
  ~scratch_dir() {
    std::error_code ignored_because_best_effort;
    std::filesystem::remove_all(path_, ignored_because_best_effort);
  }
  scratch_dir(const scratch_dir&) = delete;
  scratch_dir& operator=(const scratch_dir&) = delete;

  const std::string& path() const {
    return path_;
  }

  std::string file(const std::string& name) const {
    return path_ + "/" + name;
  }

private:
  std::string path_;
};

// A request to run `argv` with its stdout and stderr in DIR/<prefix>stdout and DIR/<prefix>stderr.
inline spawn_request request_in(const scratch_dir& dir, std::vector<std::string> argv,
                                const std::string& prefix = "") {
  spawn_request request;
  request.argv = std::move(argv);
  request.stdout_path = dir.file(prefix + "stdout");
  request.stderr_path = dir.file(prefix + "stderr");
  return request;
}

inline std::string read_file(const std::string& path) {
  std::ifstream in{path, std::ios::binary};
  std::ostringstream content;
  content << in.rdbuf();
  return content.str();
}

inline void write_file(const std::string& path, const std::string& content, mode_t mode) {
  {
    std::ofstream out{path, std::ios::binary | std::ios::trunc};
    out << content;
  }
  ::chmod(path.c_str(), mode);
}

// Reads from a descriptor (a FIFO or pipe a child writes to) until `done(text so far)` or end of
// file, waiting at most `timeout` in total. Returns the text, or nullopt when the time ran out or
// the file ended before `done`.
template<class Done>
std::optional<std::string> read_until(int fd, Done done, std::chrono::milliseconds timeout) {
  auto until = std::chrono::steady_clock::now() + timeout;
  std::string text;
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        until - std::chrono::steady_clock::now());
    if (left.count() <= 0)
      return std::nullopt;
    pollfd entry{fd, POLLIN, 0};
    int ready = ::poll(&entry, 1, static_cast<int>(left.count()));
    if (ready < 0 && errno == EINTR)
      continue;
    if (ready <= 0)
      return std::nullopt;
    char c;
    ssize_t got = ::read(fd, &c, 1);
    if (got < 0 && (errno == EAGAIN || errno == EINTR))
      continue;
    if (got < 0)
      return std::nullopt;
    if (got == 0) // no writer is left
      return done(text, true) ? std::optional<std::string>{text} : std::nullopt;
    text.push_back(c);
    if (done(text, false))
      return text;
  }
}

// One '\n'-terminated line, without the newline; nullopt on timeout or end of file before it.
inline std::optional<std::string> read_line(int fd, std::chrono::milliseconds timeout = deadline) {
  auto line = read_until(
      fd, [](const std::string& text, bool) { return !text.empty() && text.back() == '\n'; },
      timeout);
  if (line)
    line->pop_back();
  return line;
}

// Everything written until every writer closed the descriptor; nullopt on timeout.
inline std::optional<std::string> read_until_end(int fd,
                                                 std::chrono::milliseconds timeout = deadline) {
  return read_until(
      fd, [](const std::string&, bool at_end) { return at_end; }, timeout);
}

} // namespace claud::proc::test
