#pragma once
// leader_watch: a slave's ears on every master. It keeps a connection to each master of the
// --join list (asynchronously, through the middleman; again `retry_interval` after one fails or
// closes) and asks each to tell it about leaders (watch_atom). Whichever master first tells of a
// newer term's leader, the watch passes it on to the slave_link as
//   (leader_atom, uint64_t term, std::string leader HOST:PORT)
// so the slave follows a new leader within milliseconds of its election, even while the old
// leader is frozen with its connection open (its ping would only time out seconds later, after
// the new leader's registration grace had declared the slave lost).
//
// A master heard of by its beacon, (discovered_atom, std::string address), is watched too (at most
// max_known_masters in all).
//
// Older terms are ignored: a master that resumes from a freeze still announces its stale view
// only until it hears of the newer term, and then announces the new leader like the others.

#include <chrono>
#include <vector>

#include <caf/actor.hpp>
#include <caf/fwd.hpp>

#include "net/address.hpp"

namespace claud {

struct leader_watch_config {
  std::vector<net::host_port> masters;
  caf::actor link; // the slave_link told of each newer leader
  std::chrono::milliseconds retry_interval{250};
  std::chrono::milliseconds request_timeout{5000};
};

caf::actor spawn_leader_watch(caf::actor_system& system, leader_watch_config config);

} // namespace claud
