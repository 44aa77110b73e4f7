#include "process.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace claud::test {

namespace {

using clock_type = std::chrono::steady_clock;

/// What the child does between fork and exec; only async-signal-safe calls.
[[noreturn]] void exec_child(pid_t parent, char* const* argv, int out_fd, int err_fd) {
  ::setpgid(0, 0);
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (::getppid() != parent) // the parent died before prctl took effect
    ::_exit(127);
  int null_fd = ::open("/dev/null", O_RDONLY);
  if (null_fd >= 0 && null_fd != 0) {
    ::dup2(null_fd, 0);
    ::close(null_fd);
  }
  ::dup2(out_fd, 1);
  ::dup2(err_fd, 2);
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  ::signal(SIGPIPE, SIG_DFL);
  ::execv(argv[0], argv);
  const char message[] = "claud test harness: exec failed\n";
  (void) !::write(2, message, sizeof message - 1);
  ::_exit(127);
}

/// Children of this process (direct, including orphans re-parented to it as a subreaper).
std::vector<pid_t> own_children() {
  std::vector<pid_t> children;
  pid_t self = ::getpid();
  DIR* proc = ::opendir("/proc");
  if (proc == nullptr)
    return children;
  while (auto* entry = ::readdir(proc)) {
    char* end = nullptr;
    long pid = std::strtol(entry->d_name, &end, 10);
    if (pid <= 0 || *end != '\0')
      continue;
    auto stat = read_file(std::string("/proc/") + entry->d_name + "/stat");
    // "pid (comm) state ppid ...": comm may hold spaces or parentheses, so parse after the last
    // ')'.
    auto close = stat.rfind(')');
    if (close == std::string::npos)
      continue;
    std::istringstream rest(stat.substr(close + 1));
    std::string state;
    long ppid = 0;
    rest >> state >> ppid;
    if (ppid == self)
      children.push_back(static_cast<pid_t>(pid));
  }
  ::closedir(proc);
  return children;
}

} // namespace

[[noreturn]] void fail(const std::string& message) {
  throw std::runtime_error(message);
}

std::string errno_text() {
  return std::strerror(errno);
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

std::string tail(const std::string& text, size_t max) {
  return text.size() <= max ? text : "..." + text.substr(text.size() - max);
}

int exit_code_of(int status) {
  if (WIFEXITED(status))
    return WEXITSTATUS(status);
  if (WIFSIGNALED(status))
    return 128 + WTERMSIG(status);
  return -1;
}

pid_t spawn_child(const std::vector<std::string>& args, int out_fd, int err_fd) {
  std::vector<char*> argv;
  for (const auto& a : args)
    argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  pid_t parent = ::getpid();
  pid_t pid = ::fork();
  if (pid < 0)
    fail("fork failed: " + errno_text());
  if (pid == 0)
    exec_child(parent, argv.data(), out_fd, err_fd);
  ::setpgid(pid, pid); // also here, so that the group exists before fork returns to the caller
  return pid;
}

void kill_group(pid_t pid, int signal) {
  if (pid > 1) {
    ::kill(-pid, signal);
    ::kill(pid, signal);
  }
}

void reap_strays() {
  for (int round = 0; round < 20; ++round) {
    auto children = own_children();
    if (children.empty())
      return;
    for (auto pid : children)
      kill_group(pid, SIGKILL);
    for (auto pid : children)
      ::waitpid(pid, nullptr, 0);
  }
}

running_process::running_process(const std::vector<std::string>& argv, std::string out_path,
                                 std::string err_path)
    : out_path_(std::move(out_path)), err_path_(std::move(err_path)) {
  int out_fd = ::open(out_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  int err_fd = ::open(err_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (out_fd < 0 || err_fd < 0) {
    auto why = errno_text();
    if (out_fd >= 0)
      ::close(out_fd);
    if (err_fd >= 0)
      ::close(err_fd);
    fail("cannot create " + out_path_ + " or " + err_path_ + ": " + why);
  }
  pid_ = started_pid_ = spawn_child(argv, out_fd, err_fd);
  ::close(out_fd);
  ::close(err_fd);
}

running_process::~running_process() {
  if (pid_ == 0)
    return;
  kill_group(pid_, SIGKILL);
  ::waitpid(pid_, nullptr, 0);
}

std::string running_process::out() const {
  return read_file(out_path_);
}

std::string running_process::err() const {
  return read_file(err_path_);
}

std::vector<std::string> running_process::out_lines() const {
  std::vector<std::string> lines;
  auto text = out();
  size_t start = 0;
  for (auto end = text.find('\n'); end != std::string::npos; end = text.find('\n', start)) {
    lines.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return lines;
}

void running_process::signal(int signal) {
  if (pid_ == 0)
    fail("process " + std::to_string(started_pid_) + " has exited already; " + describe());
  if (signal == SIGKILL) {
    kill_group(pid_, SIGKILL);
    int status = 0;
    if (::waitpid(pid_, &status, 0) == pid_)
      exit_code_ = exit_code_of(status);
    pid_ = 0;
    return;
  }
  kill_group(pid_, signal);
}

bool running_process::exited() {
  if (pid_ == 0)
    return true;
  int status = 0;
  auto r = ::waitpid(pid_, &status, WNOHANG);
  if (r == 0)
    return false;
  exit_code_ = r == pid_ ? exit_code_of(status) : -1;
  pid_ = 0;
  return true;
}

int running_process::wait_exit(milliseconds timeout) {
  const auto deadline = clock_type::now() + timeout;
  while (!exited()) {
    if (clock_type::now() > deadline)
      fail("process " + std::to_string(started_pid_) + " still runs after "
           + std::to_string(timeout.count()) + " ms; " + describe());
    std::this_thread::sleep_for(5ms); // polled: waitpid has no timeout
  }
  return exit_code_;
}

std::string running_process::describe() const {
  std::ostringstream text;
  text << (pid_ != 0 ? "running" : "exit " + std::to_string(exit_code_))
       << "; stdout: " << tail(out()) << "; stderr: " << tail(err());
  return text.str();
}

std::string run_result::describe() const {
  std::ostringstream text;
  text << "exit " << exit_code << (timed_out ? " (timed out)" : "") << "; stdout: " << tail(out)
       << "; stderr: " << tail(err);
  return text.str();
}

run_result run_process(const std::vector<std::string>& argv, milliseconds timeout) {
  int out_pipe[2];
  int err_pipe[2];
  if (::pipe2(out_pipe, O_CLOEXEC) != 0)
    fail("pipe failed: " + errno_text());
  if (::pipe2(err_pipe, O_CLOEXEC) != 0)
    fail("pipe failed: " + errno_text());
  pid_t pid = spawn_child(argv, out_pipe[1], err_pipe[1]);
  ::close(out_pipe[1]);
  ::close(err_pipe[1]);
  int fds[2] = {out_pipe[0], err_pipe[0]};
  for (int fd : fds)
    ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
  run_result result;
  std::string* sinks[2] = {&result.out, &result.err};
  auto deadline = clock_type::now() + timeout;
  auto drain = [&](int i) {
    char buf[65536];
    for (;;) {
      auto n = ::read(fds[i], buf, sizeof buf);
      if (n > 0) {
        sinks[i]->append(buf, static_cast<size_t>(n));
        continue;
      }
      if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
        ::close(fds[i]);
        fds[i] = -1;
      }
      return;
    }
  };
  int status = 0;
  bool exited = false;
  for (;;) {
    pollfd polls[2];
    nfds_t count = 0;
    int index_of[2];
    for (int i = 0; i < 2; ++i)
      if (fds[i] >= 0) {
        polls[count] = {fds[i], POLLIN, 0};
        index_of[count++] = i;
      }
    if (count > 0) {
      if (::poll(polls, count, exited ? 0 : 20) > 0)
        for (nfds_t k = 0; k < count; ++k)
          if (polls[k].revents != 0)
            drain(index_of[k]);
    } else if (!exited) {
      std::this_thread::sleep_for(5ms);
    }
    if (!exited) {
      auto r = ::waitpid(pid, &status, WNOHANG);
      if (r == pid || (r < 0 && errno == ECHILD)) {
        exited = true;
        continue; // one more round reads what is left in the pipes
      }
    }
    if (exited)
      break;
    if (clock_type::now() > deadline) {
      kill_group(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      result.timed_out = true;
      exited = true;
    }
  }
  for (int i = 0; i < 2; ++i)
    if (fds[i] >= 0) {
      drain(i);
      if (fds[i] >= 0)
        ::close(fds[i]);
    }
  // Anything the command left in its group (it should leave nothing) goes too.
  ::kill(-pid, SIGKILL);
  result.exit_code = exit_code_of(status);
  return result;
}

} // namespace claud::test
