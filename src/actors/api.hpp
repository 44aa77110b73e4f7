#pragma once
// api: the cluster's door on every master, published on --listen. On the leader it validates
// client requests, turns writes into log proposals, answers reads (linearizable, through
// leader_election), holds `wait` requests until their jobs end (job_waits), and hands slave
// messages to the resource tracker. On a follower it forwards every client request to the leader's
// api, so a client may reach any master; slaves are told where the leader is instead, and every
// master tells the slaves that watch it of each new leader (watch_atom). Raft messages
// from other masters go to leader_election. The messages are listed in include/claud/protocol.hpp.
//
// States: following (no leader known: requests fail with errc::unavailable naming the cause),
// following a known leader (forwarding), leading.

#include <chrono>

#include <caf/actor.hpp>
#include <caf/fwd.hpp>

#include "actors/master_health.hpp"
#include "claud/protocol.hpp"
#include "state/spec_validation.hpp"

namespace claud {

struct api_config {
  caf::actor leader_election;
  caf::actor resource_tracker;
  caf::actor scheduler;                             // places and proposes submissions
  caf::actor peers;                                 // peer_directory, to reach the leader
  caf::actor events;                                // event_hub, serves subscriptions
  std::chrono::milliseconds wait_poll{2000};        // longest a `wait` is parked before an answer
  std::chrono::milliseconds internal_timeout{5000}; // bound on every request to another actor
  size_t max_waiters = 10000;                       // waits held at once
  size_t max_jobs_per_wait = claud::max_jobs_per_wait; // jobs one wait may name
  state::spec_limits limits;
  master_health_config health; // what `claud leader` reports of this master
};

caf::actor spawn_api(caf::actor_system& system, api_config config);

} // namespace claud
