#pragma once
// scheduler: decides where jobs go, as the I/O shell around sched::pending_queue (which holds the
// pending jobs, the node ledger and every decision; see its header). A submission (from the api)
// is placed at once and proposed as one JobSubmitted that holds its placement, so a job that fits
// costs one entry; one that no node could ever run is refused before anything is written.
// Submissions that arrive together are placed as a batch. The queue is kept in step with the
// committed state by leader_election's updates; on every change that could let a job run (a job
// that waits, a node with more room) a pass proposes one JobPlaced per placement, and a timer
// brings the scheduler back when a restart's backoff ends. The slave hears of a placement only
// after it commits (resource_tracker).
//
// It also keeps the state from growing without bound: while leading, it periodically commits a
// JobsExpired entry that drops the jobs that ended more than `job_retention` ago.
// It places only while this master leads (leader_election tells it, role_atom).
// Changes that arrive together ask for one pass, run after them. A pass does not wait for an
// earlier one's proposals to commit (the queue skips the jobs they place and holds what they
// take), so room a finished job frees is used within one commit.

#include <chrono>

#include <caf/actor.hpp>
#include <caf/fwd.hpp>

namespace claud {

struct scheduler_config {
  caf::actor leader_election;
  std::chrono::milliseconds job_retention{24 * 3600 * 1000}; // ended jobs leave the state after
  size_t max_placements_per_pass = 1024;
  std::chrono::milliseconds internal_timeout{5000};
};

caf::actor spawn_scheduler(caf::actor_system& system, scheduler_config config);

} // namespace claud
