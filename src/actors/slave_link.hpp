#pragma once
// slave_link: a slave's connection to the leading master. It connects to a master from the --join
// list (asynchronously, through the middleman, never blocking a worker), registers the slave with
// what its supervisor runs, forwards the supervisor's job reports, and pings the master every
// `ping_interval`. A follower answers with the leader's address, and the link moves there; a
// master that goes away (CAF monitor) or stops leading sends the link back to connecting, trying
// the leader it was told of first, then each master in turn every `retry_interval`. Told of a
// newer leader by the leader_watch (from any master), it moves there at once. Until a leader
// accepts it, the slave starts nothing new. A registration refused because its node id is another
// live node's ends the link with that errc::conflict error (the slave then stops, saying why).
//
// States: disconnected -> connecting -> registering -> registered; any failure goes back to
// disconnected and schedules a retry.
//
// Interface:
//   (report_atom, pb::SlaveReport) -> void once the leader committed its job reports, or
//                                     errc::unavailable while not registered (the supervisor
//                                     sends them again later)
//   (leader_atom, uint64_t term, std::string leader) -> void: a newer leader, from leader_watch
//   (disk_atom, std::string note) -> void: the supervisor's note on a nearly full data dir ("" once
//                                    it is not); the link registers again to tell the leader
//   (discovered_atom, std::string address) -> void: a master heard of by its beacon, tried in turn
//                                    with the --join ones (which may be none)

#include <chrono>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/fwd.hpp>

#include "cluster.pb.h"
#include "net/address.hpp"

namespace claud {

/// The most masters a slave keeps addresses of (--join and beacons together): a flood of beacons
/// from a peer that has the secret costs bounded memory.
constexpr size_t max_known_masters = 64;

struct slave_link_config {
  pb::Node node;                       // id, role, address and resources to register with
  std::vector<net::host_port> masters; // --join; discovery adds to them
  caf::actor local_api;                // set in dev mode: the master in this process, no network
  caf::actor supervisor;
  std::chrono::milliseconds retry_interval{250};
  std::chrono::milliseconds ping_interval{500};
  std::chrono::milliseconds request_timeout{5000};
};

caf::actor spawn_slave_link(caf::actor_system& system, slave_link_config config);

} // namespace claud
