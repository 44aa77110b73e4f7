#pragma once

#include <sys/types.h>

#include <stdexcept>
#include <sys/resource.h>

#include <string>
#include <vector>

#include "proc/job_identity.hpp"

namespace claud::proc {

// What to run for one job. Paths are used as given; relative paths resolve against the caller's
// current directory, not against `working_dir` (the slave passes absolute paths).
struct spawn_request {
  std::vector<std::string> argv; // argv[0] looked up in PATH as execvp does (no /bin/sh retry)
  std::string stdout_path;       // created/truncated, mode 0644
  std::string stderr_path;       // may equal stdout_path: both streams then share one file
  // Instead of a path: the descriptor the child writes that stream to (an output_pipe's write
  // end). Must be above 2. The caller keeps it and closes it after the spawn.
  int stdout_fd = -1;
  int stderr_fd = -1;
  std::string working_dir; // empty = inherit
  // The file the job reads as its standard input; empty: /dev/null. Opened in the child once it
  // runs as `identity`, so a job reads only what its own user may.
  std::string stdin_path;
  // Descriptors of cgroup.procs files (see job_cgroups) the child moves itself into before exec.
  std::vector<int> join_cgroups;
  // The user the job runs as (set by a slave started as root); null: the slave's own. The child
  // takes its groups, gid and uid after joining its cgroups, and HOME, USER and LOGNAME are its.
  const job_identity* identity = nullptr;
  // NAME=VALUE set over the environment it would have (the slave's, with `identity`'s HOME, USER
  // and LOGNAME); a name given twice takes its last value. PATH set here does not change where
  // argv[0] is looked up (the slave's PATH).
  std::vector<std::string> environment;
};

// A job could not be started; what() is one line a user can act on.
struct spawn_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Starts the process described by `request` and returns its pid. Thread safe.
//
// The child:
// - leads a new process group (its pgid == its pid), so signal_process_group reaches everything it
//   starts;
// - reads stdin from `stdin_path` (or /dev/null), writes stdout/stderr to the requested files or
//   descriptors;
// - has its signal mask emptied and every signal disposition reset to the default, so nothing the
//   slave blocks or ignores leaks into jobs;
// - joins the cgroups of `join_cgroups` before exec, so all it does counts against their limits;
// - runs as `identity` when it is set (see spawn_request);
// - inherits the environment (with `environment` set over it) and no descriptor other than 0, 1
//   and 2.
//
// Every failure, including a command that cannot be executed, is reported here and never as an
// exit status: throws spawn_error ("cannot start job: command 'nosuchcmd' not found in PATH",
// "cannot open output file /path/stdout (No such file or directory)"). An empty argv, or a stream
// with neither a path nor a descriptor, is a programmer error: throws std::invalid_argument. Out of
// memory: std::system_error.
//
// The caller owns the child: it must reap it (see reaper) or it stays a zombie.
pid_t spawn_process(const spawn_request& request);

// Raises this process's soft limit on open descriptors to its hard limit (a slave holds up to five
// per running job: its pidfd, two pipes, two output files; the usual soft limit of 1,024 would cap
// a slave near 200 jobs), and makes every job spawned afterwards start with the soft limit this
// process had before, as if it had not raised it (programs that close every descriptor up to the
// limit stay fast). Call it before the first spawn. Returns the new soft limit.
rlim_t raise_descriptor_limit();

// Sends `signal` to the whole process group led by `pid` (kill(-pid, signal)). Returns false if the
// group has no member left (ESRCH). The group outlives its leader while any member lives, so this
// also reaches processes a job left behind after its main process exited. Once the group is empty
// its id may be reused, so callers stop signalling a job once it is known to be gone.
// A pid <= 1 is a programmer error (kill(-1) would reach every process): throws
// std::invalid_argument; other failures (EPERM) throw std::system_error.
bool signal_process_group(pid_t pid, int signal);

} // namespace claud::proc
