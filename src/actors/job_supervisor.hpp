#pragma once
// job_supervisor (slave side): starts, watches and stops the job processes of this slave; what
// each event means for an attempt (what a start asks for, when a report is due, what an
// acknowledgement settles, what retention keeps) is decided by slave::attempt_book, and this actor
// does the processes, pipes, cgroups, journal, files and messages around it. Each job
// attempt is a child process in its own process group and, where the slave can make them, its own
// cgroup limiting its memory and CPU (ended by the kernel over its memory: failed, saying so),
// with stdout and stderr piped through a proc::output_pump into DATA/jobs/<job>.<attempt>.{stdout,
// stderr}, each file made when its first byte arrives. Every attempt is recorded in
// storage::started_attempts before it starts, so a restarted slave never starts one twice. Exits
// are noticed by a proc::reaper thread, never by blocking a CAF worker, and come back to the
// actor as messages, as do the ends of output streams.
// Every change is reported through the slave_link, the reports of a burst of changes in one
// message, a start only after started_report_delay (a job that ends by then is reported once,
// started and ended together); a report stays unacknowledged (and is sent again after the next
// registration) until the leader has committed it.
// A start of a newer attempt of a job whose older attempt still runs here (the leader gave the
// older one up while this slave was frozen or cut off) stops the older one first, as a kill would.
// Output of jobs that ended more than `log_retention` ago is deleted (and forgotten) by a periodic
// sweep.
//
// Interface:
//   (start_atom, pb::StartJob)                -> void; starts each job of the batch in order;
//                                               idempotent per (job, attempt); stops an older
//                                               attempt of a job still running here
//   (kill_atom, std::string job, uint32_t attempt) -> void; SIGTERM to the group, SIGKILL after
//                                               kill_grace if it is still running
//   (logs_atom, pb::LogRequest)               -> pb::LogChunk
//   (report_atom)                             -> pb::SlaveReport listing every attempt it knows
//   (resend_atom)                             -> void; sends every unacknowledged report again
//   (link_to_atom, caf::actor link)           -> void; the slave_link that carries reports

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include <caf/fwd.hpp>

#include "proc/job_identity.hpp"
#include "proc/output_pump.hpp"

namespace claud {

namespace proc {
class job_cgroups;
}
namespace storage {
class started_attempts;
}

struct job_supervisor_config {
  std::string node_id;
  std::string jobs_dir; // DATA/jobs
  std::chrono::milliseconds kill_grace{3000};
  std::chrono::milliseconds report_timeout{5000};
  // How long a started job's report waits: one that ends by then is reported once, started and
  // ended together (one log entry where there would be two; most short jobs end within it).
  std::chrono::milliseconds started_report_delay{20};
  // How long an exit's report waits for the job's output to be stored (the pipes to close).
  std::chrono::milliseconds output_wait{1000};
  uint32_t max_log_chunk_bytes = 1024 * 1024;
  uint64_t max_output_bytes = proc::default_max_output_bytes; // stored per stream and attempt
  // Below this much free space in jobs_dir's file system, the slave says so (the link tells the
  // leader: `claud nodes`), checked every disk_check_period.
  uint64_t min_free_disk_bytes = uint64_t{1} << 30;
  std::chrono::milliseconds disk_check_period{10000};
  std::chrono::milliseconds log_retention{24 * 3600 * 1000}; // output of ended jobs kept this long
  std::shared_ptr<proc::job_cgroups> cgroups;         // limits of each job attempt; null: no limits
  std::shared_ptr<storage::started_attempts> started; // DATA/started-attempts; required
  std::optional<proc::job_identity> run_as;           // the user jobs run as; none: the slave's own
  std::map<std::string, proc::job_identity> allowed_users; // what a job may ask for (--user)
};

/// Spawns the supervisor; it reports once given its link. Stopping the
/// supervisor kills every process group it still runs.
caf::actor spawn_job_supervisor(caf::actor_system& system, job_supervisor_config config);

} // namespace claud
