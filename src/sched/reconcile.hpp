#pragma once
// The leader's decisions about what slaves report, as pure functions (the resource_tracker actor
// and the simulator call them): the committed transition a job report asks for, how a slave that
// (re)registers is brought into agreement with the committed state, and which nodes a new leader
// gives up after its registration grace.

#include <cstdint>
#include <functional>
#include <set>
#include <string>
#include <vector>

#include "cluster.pb.h"
#include "log.pb.h"
#include "wire.pb.h"

namespace claud::sched {

/// The JobStarted or JobFinished that `report`, from slave `node_id`, asks the state to commit.
pb::LogEntry entry_from_report(const std::string& node_id, const pb::JobReport& report);

/// Whether the state's `job` (null: not in the state) runs `attempt` on `node_id`: what a slave's
/// report of a running attempt needs to be explained by a committed decision.
bool is_current_attempt(const pb::Job* job, const std::string& node_id, uint32_t attempt);

/// An attempt to stop on a slave.
struct attempt_ref {
  std::string job_id;
  uint32_t attempt = 0;
};

/// What bringing a registering slave and the committed state into agreement takes.
struct reconciliation {
  std::vector<pb::LogEntry> proposals; // started as it says (placed here, running there); lost
                                       // (running here, unknown there: it restarted)
  std::vector<pb::Job> starts;         // placed here, not started there: tell it (again)
  std::vector<attempt_ref> kills;      // running there, but no committed decision explains it
  // Given up as lost (absent from the report): stopped too, in case the report only predates
  // their start (a start already on its way when the slave registered), so that a copy the
  // report did not show cannot run beside the next attempt. A slave that really restarted has
  // nothing to stop.
  std::vector<attempt_ref> given_up;
};

/// Attempts, as (job id, attempt).
using attempt_set = std::set<std::pair<std::string, uint32_t>>;

/// Compares what slave `node_id` reports it runs (or ran) with the jobs the state holds on it.
/// Attempts in `told_since_report` were started after the report may have been made: their
/// absence from it says nothing.
reconciliation reconcile(const std::string& node_id, const pb::SlaveReport& report,
                         const pb::JobList& jobs, const attempt_set& told_since_report = {});

/// The NodeLost entries for nodes the state holds alive that run jobs and did not register with a
/// leader within its `grace_ms` (they died while no leader watched them).
std::vector<pb::LogEntry>
lost_after_grace(const pb::NodeList& nodes,
                 const std::function<bool(const std::string&)>& registered, int64_t grace_ms);

} // namespace claud::sched
