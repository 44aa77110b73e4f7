#pragma once
// Connecting a blocking caller (a client, a master at its start) to the api a master publishes.

#include <chrono>

#include <caf/actor.hpp>
#include <caf/expected.hpp>
#include <caf/scoped_actor.hpp>

#include "net/address.hpp"

namespace claud::net {

/// The actor published at `where`, within `timeout`. Asked of the middleman with a deadline,
/// not by CAF's blocking remote_actor: a frozen master's kernel still accepts the TCP connection,
/// and remote_actor would wait for its handshake forever.
caf::expected<caf::actor> connect_api(caf::scoped_actor& self, const host_port& where,
                                      std::chrono::milliseconds timeout);

} // namespace claud::net
