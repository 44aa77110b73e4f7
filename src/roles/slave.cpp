// Composition root of a slave: a job supervisor and its link to the masters.

#include <iostream>

#include <fmt/format.h>

#include "actors/internal_atoms.hpp"
#include "actors/job_supervisor.hpp"
#include "actors/leader_watch.hpp"
#include "actors/slave_link.hpp"
#include "log/log.hpp"
#include "roles/discovery.hpp"
#include "roles/node_context.hpp"

namespace claud::roles {

int run_slave(const node_options& options, storage::data_dir& dir, const std::string& node_id) {
  if (options.join.empty() && options.secret_file.empty())
    throw startup_error("a slave needs --join HOST:PORT[,...] naming the masters, or "
                        "--secret-file to find them by their beacons");
  slave_link_config link_config;
  if (!options.join.empty())
    link_config.masters = net::parse_host_port_list(options.join);
  auto setup = prepare_slave(options, dir, node_id, pb::ROLE_SLAVE);
  link_config.node = setup.node;
  link_config.retry_interval = std::chrono::milliseconds{options.reconnect_interval_ms};
  link_config.ping_interval = std::chrono::milliseconds{options.ping_interval_ms};
  auto where = net::parse_host_port(options.listen);

  claud_system_config cfg{options};
  caf::actor_system system{cfg};
  actor_stopper actors; // stops them before `system` waits for them, also on errors
  link_config.supervisor = actors.add(spawn_job_supervisor(system, setup.supervisor));
  // The leader reaches the supervisor through the handle the slave registers with; publishing
  // it on --listen claims the slave's port (a port in use is an error at start). It comes before
  // the link: a connection to a master still in its handshake when the system shuts down keeps
  // CAF's (detached) middleman actor alive, and ~actor_system would wait for it forever.
  publish_api(system, link_config.supervisor, where);
  leader_watch_config watch_config;
  watch_config.masters = link_config.masters;
  watch_config.retry_interval = link_config.retry_interval;
  watch_config.link = actors.add(spawn_slave_link(system, link_config));
  stop_on_identity_conflict(watch_config.link);
  auto link = watch_config.link;
  auto watch = actors.add(spawn_leader_watch(system, std::move(watch_config)));
  // Anonymous sends are safe from the beacon thread; the actors outlive the service (declared
  // after them, it stops first).
  auto discovery
      = start_discovery(options, node_id, dir.incarnation(), pb::ROLE_SLAVE,
                        [link, watch](const pb::Beacon& beacon, const std::string&) {
                          if (!leads_clusters(beacon))
                            return;
                          caf::anon_send(link, discovered_atom::value, beacon.address());
                          caf::anon_send(watch, discovered_atom::value, beacon.address());
                        });
  std::cout << fmt::format(
      "claud slave {} listening on {} (data dir {}), joining {}", node_id, where.to_string(),
      dir.path(), options.join.empty() ? "the masters it hears beacons from" : options.join)
            << std::endl;
  wait_for_stop_signal();
  log::info("slave", "stopping");
  return 0;
}

} // namespace claud::roles
