#pragma once
// slave_link: a slave's connection to the cluster. It connects to a master from the --join list
// (asynchronously, through the middleman, never blocking a worker), registers the slave with what
// its supervisor runs, forwards the supervisor's job reports, and when the master goes away
// (CAF monitor) reconnects, trying each master in turn every `retry_interval`.
//
// States: disconnected -> connecting -> registering -> registered; any failure or a down message
// goes back to disconnected and schedules a retry.
//
// Interface:
//   (report_atom, pb::JobReport) -> caf::unit_t once the leader committed it, or errc::unavailable
//                                   while not registered (the supervisor sends it again later)

#include <chrono>
#include <vector>

#include <caf/actor.hpp>
#include <caf/fwd.hpp>

#include "cluster.pb.h"
#include "net/address.hpp"

namespace claud {

struct slave_link_config {
  pb::Node node; // id, role, address and resources to register with
  std::vector<net::host_port> masters;
  caf::actor local_api; // set in dev mode: the master in this process, no network
  caf::actor supervisor;
  std::chrono::milliseconds retry_interval{250};
  std::chrono::milliseconds request_timeout{5000};
};

caf::actor spawn_slave_link(caf::actor_system& system, slave_link_config config);

} // namespace claud
