#pragma once
// Memory and CPU limits of job processes through cgroups: each running job attempt in a cgroup of
// its own (reused by later jobs once empty) under a subtree of this slave's own ("claud-KEY", KEY
// unique to the slave's data dir, so two slaves on one machine never touch each other's jobs).
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

#include "os/unique_fd.hpp"

namespace claud::proc {

/// Which limits this slave enforces, as `claud nodes` states them.
struct limit_enforcement {
  bool memory = false;   // a job over its memory is killed by the kernel
  bool cpu = false;      // a job gets at most its CPUs' worth of time per period
  std::string mechanism; // "cgroup v2", "cgroup v1", or "none"
  std::string note;      // why a limit is not enforced: one line an operator can act on
};

/// The cgroup one job attempt runs in. Move-only: it holds the files the child joins through.
struct job_cgroup {
  std::string name;                   // empty without enforcement
  std::vector<unique_fd> procs_files; // one cgroup.procs per hierarchy, open for writing; the
                                      // child joins through them (spawn_request::join_cgroups)
  int64_t oom_kills_before = 0;       // the kernel's count of memory kills when it was handed out
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

  /// A cgroup with the limits a job asked for (0 = none): an emptied one of an ended job, or a new
  /// one. Without enforcement an empty job_cgroup. Throws std::runtime_error with a line for the
  /// user when a cgroup this slave promised cannot be made.
  job_cgroup acquire(int64_t cpu_millis, int64_t memory_bytes);

  /// Whether the kernel killed a process of `cgroup` for exceeding its memory limit since it was
  /// handed out.
  bool memory_exceeded(const job_cgroup& cgroup) const;

  /// Takes back the cgroup of an ended job, killing what the job left running in it. One still
  /// holding processes is reused after reuse_emptied() finds it empty.
  void release(const job_cgroup& cgroup);
  void reuse_emptied();

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
  int64_t oom_kills(const hierarchy& h, const std::string& name) const;

  limit_enforcement enforcement_;
  std::vector<hierarchy> hierarchies_;
  uint64_t cgroups_made_ = 0;
  std::vector<std::string> free_;     // empty cgroups ready for the next job
  std::vector<std::string> emptying_; // released, but processes were still in them
};

} // namespace claud::proc
