#pragma once
// scheduler: turns pending jobs into committed placements. On every change that could let a
// pending job run (a submission, a job ending, a node joining or leaving), it takes a view of the
// nodes and pending jobs, places them oldest first with the pure `sched::place`, and proposes one
// JobPlaced per placement; a job that fits nowhere gets a JobUnplaceable with the reason whenever
// that reason changes. A job restarting after a failure waits out its backoff (not_before_ms): a
// timer brings the scheduler back when the first backoff ends. The slave hears of a placement
// only after it commits (resource_tracker).
//
// It also keeps the state from growing without bound: while leading, it periodically commits a
// JobsExpired entry that drops the jobs that ended more than `job_retention` ago.
// It acts only while this master leads (leader_election tells it, role_atom).
// States: idle -> passing (a view requested, proposals in flight) -> idle; changes that arrive
// while passing mark it dirty, and one more pass follows.

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
