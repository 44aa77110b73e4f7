#pragma once
// scheduler: decides where jobs go. A submission (from the api) is placed at once and proposed as
// one JobSubmitted that holds its placement, so a job that fits costs one entry; one that no node
// could ever run is refused before anything is written. Submissions that arrive together are
// placed as a batch against one index of the nodes. The nodes come from a node_ledger: the
// committed records (kept current by leader_election's updates) plus what proposals still in
// flight will take, so a burst does not pile onto one node.
//
// It keeps the pending jobs itself (from leader_election's updates; no copy of the state per
// pass). On every change that could let one run (a job that waits, a node with more room), it
// places them oldest first and proposes one JobPlaced per placement. A job that fits nowhere
// waits and costs no entry: why it waits is worked out when it is read (state_queries), and a
// pass skips jobs no smaller than one that did not fit. A job restarting after a failure waits
// out its backoff (not_before_ms): a timer brings the scheduler back when the first backoff ends.
// The slave hears of a placement only after it commits (resource_tracker).
//
// It also keeps the state from growing without bound: while leading, it periodically commits a
// JobsExpired entry that drops the jobs that ended more than `job_retention` ago.
// It places only while this master leads (leader_election tells it, role_atom).
// Changes that arrive together ask for one pass, run after them. A pass does not wait for an
// earlier one's proposals to commit: it skips the jobs they place, and the ledger holds what they
// take, so room a finished job frees is used within one commit.

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
