#include "roles/discovery.hpp"

#include <fmt/format.h>

#include "log/log.hpp"
#include "net/cluster_secret.hpp"
#include "roles/node_context.hpp"
#include "state/job_states.hpp"

namespace claud::roles {

std::unique_ptr<net::beacon_service>
start_discovery(const node_options& options, const std::string& node_id, uint64_t incarnation,
                pb::NodeRole role,
                std::function<void(const pb::Beacon& beacon, const std::string& from)> on_news) {
  if (options.secret_file.empty())
    return nullptr;
  net::beacon_service_config config;
  config.self.set_cluster(options.cluster_name);
  config.self.set_protocol_version(net::beacon_protocol_version);
  config.self.set_node_id(node_id);
  config.self.set_incarnation(incarnation);
  config.self.set_role(role);
  config.self.set_address(net::parse_host_port(options.listen).to_string());
  config.destination = net::parse_host_port(options.discovery);
  config.interval = std::chrono::milliseconds{options.beacon_interval_ms};
  config.on_news = [on_news = std::move(on_news)](pb::Beacon beacon, const std::string& from) {
    // A node listening on every address (0.0.0.0) is reached at the address it sent from.
    auto where = net::parse_host_port(beacon.address()); // beacon_filter checked it
    if (where.host == "0.0.0.0" || where.host == "::")
      beacon.set_address(net::host_port{net::parse_host_port(from).host, where.port}.to_string());
    log::info("discovery", "heard a node",
              {{"node", beacon.node_id()},
               {"role", state::node_role_name(beacon.role())},
               {"address", beacon.address()},
               {"from", from}});
    on_news(beacon, from);
  };
  try {
    config.secret = net::read_cluster_secret(options.secret_file);
    return std::make_unique<net::beacon_service>(std::move(config));
  } catch (const std::runtime_error& e) { // secret_error, or a port it cannot bind
    throw startup_error(e.what());
  }
}

bool leads_clusters(const pb::Beacon& beacon) {
  return beacon.role() == pb::ROLE_MASTER || beacon.role() == pb::ROLE_DEV;
}

} // namespace claud::roles
