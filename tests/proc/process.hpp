#pragma once
// Processes for tests: running a command with a deadline and capturing its output, and starting
// long-lived ones in their own process group that die with the test (PR_SET_PDEATHSIG).

#include <sys/types.h>

#include <chrono>
#include <string>
#include <vector>

namespace claud::test {

using namespace std::chrono_literals;
using std::chrono::milliseconds;

/// The outcome of a finished (or timed-out) command.
struct run_result {
  int exit_code = -1;     // the exit status, 128 + signal if a signal ended it
  std::string out;        // everything it wrote to stdout
  std::string err;        // everything it wrote to stderr
  bool timed_out = false; // it was SIGKILLed at the deadline

  /// One line for failure messages: the exit code and both streams.
  std::string describe() const;
};

/// Runs `argv` (argv[0] is a path) with stdin from /dev/null, capturing stdout and stderr; after
/// `timeout` the process group is SIGKILLed and `timed_out` set.
run_result run_process(const std::vector<std::string>& argv, milliseconds timeout);

/// Forks and execs `args` (args[0] is a path) in its own process group, stdin from /dev/null,
/// stdout and stderr on the given descriptors (O_CLOEXEC in the parent), with default signal
/// handling and SIGKILL when the test process dies.
pid_t spawn_child(const std::vector<std::string>& args, int out_fd, int err_fd);

/// `signal` to the group led by `pid` and to `pid` itself (it may have left its group).
void kill_group(pid_t pid, int signal);

/// A command left running while the test goes on (`claud events`, a held `claud wait`): started
/// like spawn_child, with stdout and stderr in files that the test reads while it runs (a pipe
/// would fill up while the test looks elsewhere, and stall the command). The destructor SIGKILLs
/// its process group and reaps it.
class running_process {
public:
  /// Starts `argv` (argv[0] is a path), writing its output to `out_path` and `err_path`.
  running_process(const std::vector<std::string>& argv, std::string out_path, std::string err_path);
  ~running_process();
  running_process(const running_process&) = delete;
  running_process& operator=(const running_process&) = delete;

  pid_t pid() const {
    return pid_;
  }
  /// Everything it wrote to stdout (or stderr) so far.
  std::string out() const;
  std::string err() const;
  /// The lines of out() that are complete: one still being written is left for the next call.
  std::vector<std::string> out_lines() const;
  /// `signal` to its process group (SIGSTOP, SIGCONT, ...); SIGKILL also reaps it.
  void signal(int signal);
  /// Whether it has exited (reaped: exit_code() holds its status).
  bool exited();
  /// Waits up to `timeout` for it to exit and returns its exit status; throws if it still runs.
  int wait_exit(milliseconds timeout);
  int exit_code() const {
    return exit_code_;
  }
  /// Its state and the tails of both streams, for messages.
  std::string describe() const;

private:
  pid_t pid_ = 0; // 0 once reaped
  pid_t started_pid_ = 0;
  int exit_code_ = -1;
  std::string out_path_;
  std::string err_path_;
};

/// Kills and reaps every remaining child of this process, including orphans re-parented to it
/// (it is a child subreaper while a cluster exists).
void reap_strays();

/// The exit status of a waitpid status: the code, 128 + the signal, or -1.
int exit_code_of(int status);

/// Throws std::runtime_error(message): the harness fails a test with a readable line.
[[noreturn]] void fail(const std::string& message);
std::string errno_text();
std::string read_file(const std::string& path);
/// The last `max` characters of `text`, for messages.
std::string tail(const std::string& text, size_t max = 2000);

} // namespace claud::test
