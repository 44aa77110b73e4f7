#pragma once
// api: the cluster's door on every master, published on --listen. It validates client requests,
// turns writes into log proposals, answers reads from the committed state, parks `wait` requests
// until their job ends, and hands slave messages to the resource tracker. The messages it answers
// are listed in include/claud/protocol.hpp.
//
// With one master it is always the leader's api. (Forwarding a follower's writes to the leader
// arrives with the replicated log.)

#include <chrono>

#include <caf/actor.hpp>
#include <caf/fwd.hpp>

#include "state/spec_validation.hpp"

namespace claud {

struct api_config {
  caf::actor leader_election;
  caf::actor resource_tracker;
  std::chrono::milliseconds wait_poll{15000};     // longest a `wait` is parked before an answer
  std::chrono::milliseconds internal_timeout{5000}; // bound on every request to another actor
  size_t max_waiters = 10000;
  state::spec_limits limits;
};

caf::actor spawn_api(caf::actor_system& system, api_config config);

} // namespace claud
