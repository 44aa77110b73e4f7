#pragma once

#include <poll.h>
#include <sys/types.h>

#include <cstddef>
#include <functional>
#include <mutex>
#include <thread>
#include <unordered_set>
#include <utility>
#include <vector>

#include "os/unique_fd.hpp"
#include "proc/exit_status.hpp"

namespace claud::proc {

// Watches child processes and reports each exit on its own thread, so that the slave's actor (on
// a shared worker pool) never blocks in waitpid.
//
// Only watched pids are ever reaped: no waitpid(-1) and no SIGCHLD handler, because other threads
// of the process may own children of their own. Each watched child holds one pidfd (Linux >= 5.3),
// so the number of children watched at once is bounded by the descriptor limit (RLIMIT_NOFILE).
class reaper {
public:
  using exit_callback = std::function<void(pid_t pid, exit_status status)>;

  // Starts one background thread. `on_exit` is called on that thread, once per watched pid, after
  // the child was reaped (waitpid'ed), so no zombie remains. The callback may call watch() and
  // watched_count(), must not destroy this reaper, and must not throw (a throwing callback is a
  // bug: the process aborts with its message). Throws std::runtime_error if the kernel lacks
  // pidfd_open.
  explicit reaper(exit_callback on_exit);

  // Stops and joins the thread, waiting for a callback in progress. Children still running are
  // NOT killed (the caller's job) and no longer watched: they stay unreaped.
  ~reaper();

  reaper(const reaper&) = delete;
  reaper& operator=(const reaper&) = delete;

  // Starts watching `pid`, a child of this process not yet reaped (a child that already exited and
  // is a zombie is fine: the callback still fires). Thread safe. Throws std::invalid_argument if
  // `pid` is no such child or is already watched, std::system_error if out of descriptors.
  void watch(pid_t pid);

  // Pids watched whose callback has not started yet.
  size_t watched_count() const;

private:
  struct child {
    pid_t pid = 0;
    unique_fd pidfd;
  };

  void run();
  void wake();
  void drain_wake_fd();
  // Moves children added by watch() into `children`; returns false once the reaper is stopping.
  bool take_added(std::vector<child>& children);
  void reap_ready(std::vector<child>& children, size_t polled_count);
  void notify(pid_t pid, exit_status status);

  exit_callback on_exit_;
  unique_fd wake_fd_; // eventfd: watch() and ~reaper() interrupt the thread's poll()

  mutable std::mutex mutex_; // guards the members below
  bool stopping_ = false;
  std::unordered_set<pid_t> watched_;
  std::vector<child> added_; // watched but not yet in the thread's poll set

  // Owned by the thread only: rebuilt into the poll set on every turn of the loop.
  std::vector<pollfd> poll_set_;

  std::thread thread_; // last: starts after every member it uses exists
};

} // namespace claud::proc
