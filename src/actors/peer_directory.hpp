#pragma once
// peer_directory: a master's connections to the other masters. Each peer is reached through the
// `api` actor it publishes; connections are opened asynchronously through the middleman, on
// start and again every `retry_interval` while a peer is unreachable, and watched with CAF
// monitors. A closed connection is reported to the subscriber (the leader_election actor, which
// takes a closed connection to the leader as a hint to campaign).
//
// Interface:
//   (relay_atom, std::string address, pb::RaftMessage) -> void; delivered as (raft_atom, msg) to
//       that master, queued (at most 64, oldest dropped first) while a connection is attempted,
//       and dropped when it fails (raft retransmits)
//   (lookup_atom, std::string address) -> caf::actor, that master's api (errc::unavailable when
//       it cannot be reached)
//   (subscribe_atom, caf::actor) -> void; the subscriber gets (peer_down_atom, std::string address)
//       when a connection closes, and (peer_up_atom, std::string address, caf::actor api) when
//       one opens, so that raft messages can go to that api without a hop through this actor
//   (peers_atom, std::vector<std::string> addresses) -> void; the masters to keep connections to,
//       when the membership changes (others are forgotten)
//   (discovered_atom, std::string address, std::string node_id) -> void; a master heard of by its
//       beacon: logged when it is not one of the masters known here
//   (tick_atom) -> void; starts keeping the connections (send it once this master listens: a
//       handshake still under way when start-up fails would keep the actor system from ending)

#include <chrono>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/fwd.hpp>

namespace claud {

struct peer_directory_config {
  std::vector<std::string> peers; // HOST:PORT of the other masters
  std::chrono::milliseconds connect_timeout{1000};
  std::chrono::milliseconds retry_interval{100};
};

caf::actor spawn_peer_directory(caf::actor_system& system, peer_directory_config config);

} // namespace claud
