#include "proc/reaper.hpp"

#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <stdexcept>
#include <system_error>

#include <fmt/format.h>

#include "proc/fatal.hpp"

namespace claud::proc {

namespace {

int pidfd_open(pid_t pid) {
  return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
}

// Restores the calling thread's signal mask on scope exit.
class signal_mask_guard {
public:
  explicit signal_mask_guard(const sigset_t& mask) {
    ::pthread_sigmask(SIG_SETMASK, &mask, &saved_);
  }
  ~signal_mask_guard() {
    ::pthread_sigmask(SIG_SETMASK, &saved_, nullptr);
  }
  signal_mask_guard(const signal_mask_guard&) = delete;
  signal_mask_guard& operator=(const signal_mask_guard&) = delete;

private:
  sigset_t saved_;
};

} // namespace

reaper::reaper(exit_callback on_exit) : on_exit_(std::move(on_exit)) {
  if (!on_exit_)
    throw std::invalid_argument("reaper: the exit callback is empty");
  unique_fd probe{pidfd_open(::getpid())};
  if (!probe.valid()) {
    if (errno == ENOSYS)
      throw std::runtime_error("this kernel lacks pidfd_open (Linux >= 5.3 needed)");
    throw std::system_error(errno, std::generic_category(), "reaper: pidfd_open");
  }
  wake_fd_.reset(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!wake_fd_.valid())
    throw std::system_error(errno, std::generic_category(), "reaper: eventfd");
  // The thread inherits this mask: with every signal blocked, process-directed signals (SIGTERM,
  // SIGINT) go to threads that handle them instead of interrupting this one.
  sigset_t all_signals;
  sigfillset(&all_signals);
  signal_mask_guard guard{all_signals};
  thread_ = std::thread([this] { run(); });
}

reaper::~reaper() {
  {
    std::lock_guard<std::mutex> lock{mutex_};
    stopping_ = true;
  }
  wake();
  thread_.join();
}

void reaper::watch(pid_t pid) {
  if (pid <= 0)
    throw std::invalid_argument(fmt::format("reaper::watch: {} is not a process id", pid));
  unique_fd pidfd{pidfd_open(pid)};
  if (!pidfd.valid()) {
    if (errno == ESRCH)
      throw std::invalid_argument(
          fmt::format("reaper::watch: no process {} (was it reaped already?)", pid));
    throw std::system_error(errno, std::generic_category(),
                            fmt::format("reaper::watch: pidfd_open({})", pid));
  }
  // waitpid on a pid that is not our child fails only later, on the thread: refuse it here.
  siginfo_t info;
  std::memset(&info, 0, sizeof(info));
  int rc;
  do {
    rc = ::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT);
  } while (rc != 0 && errno == EINTR);
  if (rc != 0 && errno == ECHILD)
    throw std::invalid_argument(
        fmt::format("reaper::watch: process {} is not a child of this process", pid));
  {
    std::lock_guard<std::mutex> lock{mutex_};
    if (!watched_.insert(pid).second)
      throw std::invalid_argument(fmt::format("reaper::watch: process {} is already watched", pid));
    added_.push_back(child{pid, std::move(pidfd)});
  }
  wake();
}

size_t reaper::watched_count() const {
  std::lock_guard<std::mutex> lock{mutex_};
  return watched_.size();
}

void reaper::wake() {
  uint64_t one = 1;
  ssize_t written;
  do {
    written = ::write(wake_fd_.get(), &one, sizeof(one));
  } while (written < 0 && errno == EINTR);
  // EAGAIN: the counter is saturated, so the thread has a wake-up pending anyway.
  if (written < 0 && errno != EAGAIN)
    fatal("reaper", fmt::format("cannot write to the wake-up eventfd ({})", std::strerror(errno)));
}

void reaper::drain_wake_fd() {
  uint64_t count = 0;
  ssize_t got;
  do {
    got = ::read(wake_fd_.get(), &count, sizeof(count));
  } while (got < 0 && errno == EINTR);
  if (got < 0 && errno != EAGAIN)
    fatal("reaper", fmt::format("cannot read the wake-up eventfd ({})", std::strerror(errno)));
}

bool reaper::take_added(std::vector<child>& children) {
  std::lock_guard<std::mutex> lock{mutex_};
  if (stopping_)
    return false;
  for (auto& added : added_)
    children.push_back(std::move(added));
  added_.clear();
  return true;
}

void reaper::run() {
  std::vector<child> children;
  for (;;) {
    // Rebuilt each turn from `children`, so poll_set_[i + 1] always describes children[i].
    poll_set_.clear();
    poll_set_.push_back(pollfd{wake_fd_.get(), POLLIN, 0});
    for (const auto& watched : children)
      poll_set_.push_back(pollfd{watched.pidfd.get(), POLLIN, 0});
    int ready = ::poll(poll_set_.data(), poll_set_.size(), -1);
    if (ready < 0) {
      if (errno == EINTR)
        continue;
      fatal("reaper", fmt::format("poll failed ({})", std::strerror(errno)));
    }
    size_t polled_count = children.size();
    if (poll_set_[0].revents != 0) {
      drain_wake_fd();
      if (!take_added(children))
        return; // `children` closes the remaining pidfds; those processes stay unreaped
    }
    reap_ready(children, polled_count);
  }
}

// Only children[0, polled_count) were polled; later entries were added on this turn and wait for
// the next poll.
void reaper::reap_ready(std::vector<child>& children, size_t polled_count) {
  std::vector<std::pair<pid_t, exit_status>> reaped;
  {
    // waitpid and the erase from watched_ happen under one lock: once waitpid frees the pid the
    // kernel may hand it to a new child, whose watch() must not see it as already watched.
    std::lock_guard<std::mutex> lock{mutex_};
    size_t kept = 0;
    for (size_t i = 0; i < children.size(); ++i) {
      pid_t pid = children[i].pid;
      short events = i < polled_count ? poll_set_[i + 1].revents : 0;
      if (events & POLLNVAL)
        fatal("reaper", fmt::format("the pidfd of process {} is not open", pid));
      if (events != 0) {
        int wait_status = 0;
        pid_t got;
        do {
          got = ::waitpid(pid, &wait_status, WNOHANG);
        } while (got < 0 && errno == EINTR);
        if (got < 0)
          fatal("reaper", fmt::format("cannot reap process {}: someone else reaped it ({})", pid,
                                      std::strerror(errno)));
        if (got == pid) {
          reaped.emplace_back(pid, exit_status::from_wait_status(wait_status));
          watched_.erase(pid);
          continue; // dropped: its pidfd closes when overwritten or erased below
        }
      }
      if (kept != i)
        children[kept] = std::move(children[i]);
      ++kept;
    }
    children.erase(children.begin() + static_cast<std::ptrdiff_t>(kept), children.end());
  }
  for (const auto& [pid, status] : reaped)
    notify(pid, status);
}

void reaper::notify(pid_t pid, exit_status status) {
  try {
    on_exit_(pid, status);
  } catch (const std::exception& error) {
    fatal("reaper", fmt::format("the exit callback for process {} threw: {}", pid, error.what()));
  }
}

} // namespace claud::proc
