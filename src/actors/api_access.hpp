#pragma once
// What the sender of a request to the api may ask, by its certificate's role (mutual TLS).

#include <caf/error.hpp>

#include "actors/api_state.hpp"

namespace claud {

/// What a request asks of its sender's certificate.
enum class access {
  read,     // reads: every certificate but a slave's
  operate,  // writes a user makes: submit, kill, drain, masters
  slave,    // a slave's registration, reports, pings and watch
  master,   // raft, between masters
  internal, // this process's own actors only
};

/// Why the sender of the current message may not ask for `needed`; none when it may. Without
/// TLS every peer may ask anything (loopback, or --insecure); this process's own actors always.
caf::error refusal(api_self self, access needed);

} // namespace claud
