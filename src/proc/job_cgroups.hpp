#pragma once
// Memory and CPU limits of job processes through cgroups: one cgroup per job attempt under a
// subtree of this slave's own ("claud-KEY", KEY unique to the slave's data dir, so two slaves on
// one machine never touch each other's jobs).
//
// cgroup v2 is used where this slave's cgroup offers the memory and cpu controllers and the slave
// may hand them to children. Under v2 a cgroup that hands out controllers must hold no processes,
// so a slave sitting in a cgroup of its own first moves itself into a leaf ("claud-KEY-slave"),
// as systemd's Delegate=yes expects. Where v2 offers neither controller (hosts that mount them
// as cgroup v1, "hybrid") the v1 memory and cpu hierarchies are used. Where nothing can be made
// (no permission, a read-only /sys/fs/cgroup, other processes sharing the cgroup) jobs run
// unlimited, and `enforcement()` says so and why: the slave states it in `claud nodes`.
//
// Not thread safe: the job supervisor actor owns it.

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "proc/unique_fd.hpp"

namespace claud::proc {

/// Which limits this slave enforces, as `claud nodes` states them.
struct limit_enforcement {
  bool memory = false;   // a job over its memory is killed by the kernel
  bool cpu = false;      // a job gets at most its CPUs' worth of time per period
  std::string mechanism; // "cgroup v2", "cgroup v1", or "none"
  std::string note;      // why a limit is not enforced: one line an operator can act on
};

/// The cgroup of one job attempt, open for the child to join (see spawn_request::join_cgroups).
struct job_cgroup {
  std::vector<unique_fd> procs_files; // one per hierarchy: cgroup.procs, open for writing
};

class job_cgroups {
public:
  enum class mode { automatic, off, required };

  /// Sets up this slave's subtree (or finds it cannot) and kills what is left in it from a
  /// previous run of the same slave (a slave that was SIGKILLed leaves its jobs running; the
  /// leader has already declared them lost). `slave_key` is a file name. With mode::required
  /// a slave that cannot enforce both limits throws std::runtime_error with the note.
  job_cgroups(const std::string& slave_key, mode wanted);
  /// Kills whatever still runs in the slave's subtree and removes it: a stopping slave takes its
  /// jobs with it.
  ~job_cgroups();
  job_cgroups(const job_cgroups&) = delete;
  job_cgroups& operator=(const job_cgroups&) = delete;

  const limit_enforcement& enforcement() const {
    return enforcement_;
  }

  /// Creates the cgroup `name` (a file name, e.g. "17.2") with the limits a job asked for (0 =
  /// none). Without enforcement returns an empty job_cgroup. Throws std::runtime_error with a
  /// line for the user when a cgroup this slave promised cannot be made.
  job_cgroup create(const std::string& name, int64_t cpu_millis, int64_t memory_bytes);

  /// Whether the kernel killed a process of cgroup `name` for exceeding its memory limit.
  bool memory_exceeded(const std::string& name) const;

  /// Removes cgroup `name` once its processes are gone; one still holding processes (a job's
  /// main process ended but something it started lives on) is removed by a later call to
  /// remove_finished().
  void remove(const std::string& name);
  void remove_finished();

private:
  struct hierarchy {
    std::string base; // the slave's subtree: every job's cgroup is a directory in it
    bool v2 = false;
    bool memory = false;
    bool cpu = false;
  };

  void set_up_v2(const std::string& own_dir, const std::string& slave_key);
  void set_up_v1(const std::string& controller, const std::string& own_dir,
                 const std::string& slave_key);
  void remove_all(); // kills every process in the subtree and removes every job cgroup

  limit_enforcement enforcement_;
  std::vector<hierarchy> hierarchies_;
  std::vector<std::string> busy_; // cgroups of ended jobs that still held processes
};

} // namespace claud::proc
