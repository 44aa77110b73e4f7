#pragma once
// The api actor's state, shared by the files its behaviour is split into (api.cpp, the leader
// path, the access checks).

#include <cstdint>
#include <map>
#include <string>

#include <caf/actor.hpp>
#include <caf/actor_addr.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/stateful_actor.hpp>

#include "actors/api.hpp"
#include "actors/job_waits.hpp"
#include "net/peer_identities.hpp"

namespace claud {

struct api_state {
  api_config config;
  bool leading = false;
  std::string leader; // HOST:PORT of the leader, empty when none is known
  uint64_t term = 0;  // of that leader
  job_waits waits;
  std::map<caf::actor_addr, caf::actor> watchers; // slaves told of every new leader
  net::peer_identities* identities = nullptr;     // who the peers are; nullptr without TLS
  static inline const char* name = "api";
};

using api_self = caf::stateful_actor<api_state>*;

} // namespace claud
