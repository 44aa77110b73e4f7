// Entry of every node role: validate the options, open the data dir, then hand over to the role's
// composition root.

#include <algorithm>
#include <cstdlib>
#include <iostream>

#include <fmt/format.h>

#include "claud/protocol.hpp"
#include "log/log.hpp"
#include "net/address.hpp"
#include "net/cluster_secret.hpp"
#include "net/loopback.hpp"
#include "net/tls_context.hpp"
#include "roles/node_context.hpp"
#include "state/spec_validation.hpp"
#include "state/units.hpp"
#include "storage/storage_error.hpp"

namespace claud::roles {

namespace {

constexpr const char* default_listen = "127.0.0.1:7400";

void validate_labels(const node_options& options) {
  if (options.labels.empty())
    return;
  if (options.role == "master")
    throw startup_error("--label describes a node that runs jobs; a master runs none");
  if (options.labels.size() > state::max_labels)
    throw startup_error(fmt::format("{} labels given; a node may have at most {}",
                                    options.labels.size(), state::max_labels));
  std::vector<std::string> keys;
  for (const auto& label : options.labels) {
    std::string key;
    std::string value;
    if (auto problem = state::parse_label(label, key, value); !problem.empty())
      throw startup_error(problem);
    if (std::find(keys.begin(), keys.end(), key) != keys.end())
      throw startup_error(fmt::format("--label {} is given twice; give each key once", key));
    keys.push_back(key);
  }
}

/// Checks the user names of --run-as and --allow-users (whether they exist is the slave's to
/// find out when it resolves them).
void validate_users(const node_options& options) {
  if (options.role == "master" && (!options.run_as.empty() || !options.allow_users.empty()))
    throw startup_error("--run-as and --allow-users say whom a node's jobs run as; a master runs "
                        "none");
  if (!options.run_as.empty())
    if (auto problem = state::user_name_problem(options.run_as, "--run-as"); !problem.empty())
      throw startup_error(problem);
  if (options.allow_users.size() > state::max_allowed_users)
    throw startup_error(fmt::format("--allow-users names {} users; at most {} are allowed",
                                    options.allow_users.size(), state::max_allowed_users));
  for (const auto& user : options.allow_users)
    if (auto problem = state::user_name_problem(user, "--allow-users"); !problem.empty())
      throw startup_error(problem);
}

/// Whether the node runs mutual TLS; throws startup_error when its files cannot serve, or its
/// certificate is not for its role (a master's key on a slave would let the slave's jobs act as
/// a master).
bool validate_tls(const node_options& options) {
  if (options.tls_ca.empty() && options.tls_cert.empty() && options.tls_key.empty())
    return false;
  if (options.insecure)
    throw startup_error("--insecure is for nodes without TLS; drop it or the --tls-* flags");
  try {
    net::tls_context context{{options.tls_ca, options.tls_cert, options.tls_key}};
    auto wanted = options.role == "slave" ? net::peer_role::slave : net::peer_role::master;
    if (context.self().role != wanted)
      throw startup_error(fmt::format("--tls-cert {} is a {} certificate (\"{}\"); a {} needs a "
                                      "{} one: claud tls cert --role {} --name NAME",
                                      options.tls_cert, net::to_string(context.self().role),
                                      context.self().name, options.role, net::to_string(wanted),
                                      net::to_string(wanted)));
  } catch (const net::certificate_error& e) {
    throw startup_error(e.what());
  }
  return true;
}

/// Checks the discovery options when --secret-file turns discovery on (the secret itself is
/// read when the node starts its beacons).
void validate_discovery(const node_options& options) {
  if (auto problem = state::label_text_problem(options.cluster_name, "--cluster-name");
      !problem.empty())
    throw startup_error(problem);
  if (options.secret_file.empty())
    return;
  net::parse_host_port(options.discovery);
  if (options.beacon_interval_ms < 100 || options.beacon_interval_ms > 60000)
    throw startup_error(fmt::format("--beacon-interval-ms must be 100 to 60000 (got {})",
                                    options.beacon_interval_ms));
  try {
    net::read_cluster_secret(options.secret_file);
  } catch (const net::secret_error& e) {
    throw startup_error(e.what());
  }
}

void validate(node_options& options) {
  if (options.role != "master" && options.role != "slave" && options.role != "dev")
    throw startup_error(fmt::format(
        "unknown role '{}'; use --role=master, --role=slave or --role=dev", options.role));
  if (options.listen.empty()) {
    if (options.role == "slave")
      throw startup_error("a slave needs --listen HOST:PORT, a port of its own");
    options.listen = default_listen;
  }
  const bool tls = validate_tls(options);
  // Without TLS nothing authenticates a peer or encrypts what it sends, and a master runs any
  // command a client submits on its slaves: off this machine that needs TLS, or an operator who
  // says the network is trusted.
  const auto where = net::parse_host_port(options.listen);
  const bool on_loopback = net::is_loopback_host(where.host); // may ask DNS: once
  if (!tls && !options.insecure && !on_loopback)
    throw startup_error(fmt::format(
        "refusing to listen on {} without TLS: anyone who reaches it could run commands on the "
        "slaves; give --tls-ca, --tls-cert and --tls-key (see `claud tls`), listen on "
        "127.0.0.1, or add --insecure on a network where every host is trusted",
        options.listen));
  if (!options.join.empty())
    net::parse_host_port_list(options.join);
  validate_discovery(options);
  if (options.joining && (options.role != "master" || options.join.empty()))
    throw startup_error("--joining is for a master that joins a running cluster: give the "
                        "cluster's masters with --join");
  if (options.role == "dev" && !options.join.empty())
    throw startup_error("a dev node is a cluster of its own; --join is for masters and slaves");
  if (options.role == "master" && (!options.cpus.empty() || !options.memory.empty()))
    throw startup_error("--cpus and --memory are what a slave offers; a master runs no jobs");
  if (!options.cpus.empty())
    state::parse_cpu_millis(options.cpus, "--cpus");
  if (!options.memory.empty())
    state::parse_memory_bytes(options.memory, "--memory");
  validate_labels(options);
  validate_users(options);
  if (auto bytes = state::parse_memory_bytes(options.max_output, "--max-output"); bytes < 1024)
    throw startup_error(
        fmt::format("--max-output must be at least 1K (got {})", options.max_output));
  state::parse_memory_bytes(options.min_free_disk, "--min-free-disk");
  constexpr int64_t min_message = int64_t{1} << 20, max_message = int64_t{4} << 30;
  auto message = state::parse_memory_bytes(options.max_message_size, "--max-message-size");
  if (message < min_message || message > max_message)
    throw startup_error(
        fmt::format("--max-message-size must be 1M to 4G (got {})", options.max_message_size));
  if (options.max_connections_per_address < 1 || options.max_connections_per_address > 65536)
    throw startup_error(fmt::format("--max-connections-per-address must be 1 to 65536 (got {})",
                                    options.max_connections_per_address));
  if (options.tls_handshake_timeout_ms < 100 || options.tls_handshake_timeout_ms > 600000)
    throw startup_error(fmt::format("--tls-handshake-timeout-ms must be 100 to 600000 (got {})",
                                    options.tls_handshake_timeout_ms));
  if (options.cgroups != "auto" && options.cgroups != "off" && options.cgroups != "required")
    throw startup_error(
        fmt::format("--cgroups must be auto, off or required (got '{}')", options.cgroups));
  if (options.data_dir.empty())
    options.data_dir = default_data_dir(options.role);
  auto positive = [](int64_t value, const char* flag) {
    if (value <= 0)
      throw startup_error(fmt::format("{} must be greater than 0 (got {})", flag, value));
  };
  positive(options.registration_grace_ms, "--registration-grace-ms");
  positive(options.reconnect_interval_ms, "--reconnect-interval-ms");
  positive(options.kill_grace_ms, "--kill-grace-ms");
  if (options.wait_poll_ms <= 0 || options.wait_poll_ms > max_wait_poll.count())
    throw startup_error(fmt::format("--wait-poll-ms must be 1 to {} (clients take a wait held "
                                    "longer for a master that died; got {})",
                                    max_wait_poll.count(), options.wait_poll_ms));
  positive(options.ping_interval_ms, "--ping-interval-ms");
  if (options.event_history < 100 || options.event_history > 10000000)
    throw startup_error(
        fmt::format("--event-history must be 100 to 10000000 (got {})", options.event_history));
  if (options.event_max_lag < 1 || options.event_max_lag > options.event_history)
    throw startup_error(fmt::format("--event-max-lag must be 1 to --event-history, {} (got {})",
                                    options.event_history, options.event_max_lag));
  if (options.event_lease_ms < 1000 || options.event_lease_ms > 600000)
    throw startup_error(
        fmt::format("--event-lease-ms must be 1000 to 600000 (got {})", options.event_lease_ms));
  if (options.max_subscriptions < 1 || options.max_subscriptions > 100000)
    throw startup_error(
        fmt::format("--max-subscriptions must be 1 to 100000 (got {})", options.max_subscriptions));
  if (options.job_retention_ms < 1000 || options.log_retention_ms < 1000)
    throw startup_error("--job-retention-ms and --log-retention-ms must be at least 1000");
  if (options.slave_timeout_ms < 100)
    throw startup_error("--slave-timeout-ms must be at least 100 (slaves ping every "
                        "--ping-interval-ms, 500 by default; give them several pings)");
  if (options.heartbeat_ms < raft_tick_ms)
    throw startup_error(fmt::format("--heartbeat-ms must be at least {}", raft_tick_ms));
  if (options.election_timeout_ms < 2 * options.heartbeat_ms)
    throw startup_error("--election-timeout-ms must be at least twice --heartbeat-ms, or "
                        "followers would campaign between two heartbeats");
  if (options.registration_grace_ms <= 2 * options.reconnect_interval_ms)
    throw startup_error("--registration-grace-ms must exceed twice --reconnect-interval-ms, or "
                        "restarted masters would declare healthy slaves lost");
  log::configure(options.log);
  if (!tls && !on_loopback)
    log::warn("node",
              "insecure: listening without TLS; every host that reaches this address can "
              "submit jobs and read their output",
              {{"listen", options.listen}});
}

} // namespace

std::string default_data_dir(const std::string& role) {
  if (const char* xdg = std::getenv("XDG_DATA_HOME"); xdg != nullptr && *xdg != '\0')
    return fmt::format("{}/claud/{}", xdg, role);
  if (const char* home = std::getenv("HOME"); home != nullptr && *home != '\0')
    return fmt::format("{}/.local/share/claud/{}", home, role);
  return fmt::format("./claud-data/{}", role);
}

int run_node(node_options options) {
  try {
    validate(options);
    block_stop_signals();
    auto dir = storage::data_dir::open(options.data_dir);
    auto node_id = dir.node_id(options.node_id);
    int code = options.role == "slave" ? run_slave(options, dir, node_id)
                                       : run_master(options, dir, node_id, options.role == "dev");
    std::cout << fmt::format("claud {} {} stopped", options.role, node_id) << std::endl;
    if (auto error = stop_error(); !error.empty()) {
      std::cerr << "claud: error: " << error << "\n";
      return 1;
    }
    return code;
  } catch (const startup_error& e) {
    std::cerr << "claud: error: " << e.what() << "\n";
  } catch (const storage::storage_error& e) {
    std::cerr << "claud: error: " << e.what() << "\n";
  } catch (const std::invalid_argument& e) {
    std::cerr << "claud: error: " << e.what() << "\n";
  }
  return 1;
}

} // namespace claud::roles
