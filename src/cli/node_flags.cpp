#include "cli/node_flags.hpp"

#include <memory>
#include <string>
#include <vector>

#include "cli/strict_config.hpp"

namespace claud::cli {

void add_node_flags(CLI::App& app, roles::node_options& o) {
  app.add_option("--role", o.role, "Run a node: master, slave or dev (both in one process)");
  app.add_option("--listen", o.listen, "HOST:PORT this node listens on (dev: 127.0.0.1:7400)");
  app.add_flag("--insecure", o.insecure,
               "Listen on a non-loopback --listen address without TLS: nothing authenticates or "
               "encrypts claud's connections then; only on a trusted network");
  app.add_option("--tls-ca", o.tls_ca,
                 "Mutual TLS: the cluster CA's certificate (`claud tls ca` makes it)");
  app.add_option("--tls-cert", o.tls_cert,
                 "Mutual TLS: this node's certificate (`claud tls cert --role master|slave`)");
  app.add_option("--tls-key", o.tls_key, "Mutual TLS: this node's private key (mode 0600)");
  app.add_option("--join", o.join,
                 "HOST:PORT[,...]: the masters, the same list for every node (a master skips "
                 "itself)");
  app.add_flag("--joining", o.joining,
               "Master: join the running cluster that --join names, as a learner that votes only "
               "once `claud masters add HOST:PORT` has made it a member and it has caught up; "
               "also for a master whose data dir was lost");
  app.add_option("--secret-file", o.secret_file,
                 "Discovery: the cluster secret (`claud tls secret`, mode 0600) that signs this "
                 "node's UDP beacons and checks others'; without it the node sends none");
  app.add_option("--cluster-name", o.cluster_name,
                 "Discovery: the cluster's name; beacons of another name are dropped")
      ->capture_default_str();
  app.add_option("--discovery", o.discovery,
                 "Discovery: ADDRESS:PORT beacons are broadcast to (a subnet's broadcast address "
                 "such as 10.0.0.255); the node hears beacons on that UDP port")
      ->capture_default_str();
  app.add_option("--beacon-interval-ms", o.beacon_interval_ms,
                 "Discovery: how often the node broadcasts its beacon")
      ->capture_default_str();
  app.add_option("--data-dir", o.data_dir,
                 "Directory for the node's state (default: "
                 "~/.local/share/claud/ROLE)");
  app.add_option("--node-id", o.node_id,
                 "The node's id (default: generated, kept in the data dir)");
  app.add_option("--cpus", o.cpus, "CPUs a slave offers, e.g. 1.5 (default: the machine's)");
  app.add_option("--memory", o.memory,
                 "Memory a slave offers, e.g. 512M or 4G (default: the "
                 "machine's)");
  app.add_option("--label", o.labels,
                 "KEY=VALUE a slave or dev node carries, for --constraint (repeatable)")
      ->allow_extra_args(false);
  app.add_option("--cgroups", o.cgroups,
                 "Slave, dev: enforce job memory and CPU limits with cgroups: auto (where the "
                 "slave can), off, or required (refuse to start without them)")
      ->capture_default_str();
  app.add_option("--run-as", o.run_as,
                 "Slave, dev: the user jobs run as (default: nobody when the slave runs as root, "
                 "else the slave's own user; root only when named)");
  app.add_option("--allow-users", o.allow_users,
                 "Slave, dev: users a job may ask to run as with `submit --user` (comma-separated "
                 "or repeated; needs a slave started as root)")
      ->delimiter(',')
      ->allow_extra_args(false);
  app.add_option("--log", o.log, "Log level, or MODULE@LEVEL,... (error, warn, info, debug)")
      ->capture_default_str();
  app.add_option("--registration-grace-ms", o.registration_grace_ms,
                 "Master: time restarted slaves have to re-register before they count as lost")
      ->capture_default_str();
  app.add_option("--reconnect-interval-ms", o.reconnect_interval_ms,
                 "Slave: pause between attempts to reach a master")
      ->capture_default_str();
  app.add_option("--kill-grace-ms", o.kill_grace_ms, "Slave: SIGTERM to SIGKILL delay on kill")
      ->capture_default_str();
  app.add_option("--wait-poll-ms", o.wait_poll_ms,
                 "Master: longest a `submit --wait` or `wait` request is held before it is "
                 "asked again (1 to 4000)")
      ->capture_default_str();
  app.add_option("--heartbeat-ms", o.heartbeat_ms, "Master: leader heartbeat interval")
      ->capture_default_str();
  app.add_option("--election-timeout-ms", o.election_timeout_ms,
                 "Master: silence after which a follower campaigns (randomized up to twice this)")
      ->capture_default_str();
  app.add_option("--slave-timeout-ms", o.slave_timeout_ms,
                 "Master: a slave not heard from this long (frozen or cut off) is lost")
      ->capture_default_str();
  app.add_option("--job-retention-ms", o.job_retention_ms,
                 "Master: ended jobs leave the state this long after they end")
      ->capture_default_str();
  app.add_option("--log-retention-ms", o.log_retention_ms,
                 "Slave, dev: a job's output is deleted this long after it ends")
      ->capture_default_str();
  app.add_option("--ping-interval-ms", o.ping_interval_ms,
                 "Slave: how often it checks that its master still leads")
      ->capture_default_str();
  app.add_option("--max-output", o.max_output,
                 "Slave, dev: the most each job's stdout and stderr keep (the first and last "
                 "halves)")
      ->capture_default_str();
  app.add_option("--min-free-disk", o.min_free_disk,
                 "All: below this much free space in its data dir, `claud nodes` (a slave) or "
                 "`claud leader` (a master) says so")
      ->capture_default_str();
  app.add_option("--event-history", o.event_history,
                 "Master: events it keeps for subscribers to resume from after a failover "
                 "(100 to 10000000)")
      ->capture_default_str();
  app.add_option("--event-max-lag", o.event_max_lag,
                 "Master: a subscriber this many events behind gets a snapshot of the states "
                 "instead of the events it missed (at most --event-history)")
      ->capture_default_str();
  app.add_option("--event-lease-ms", o.event_lease_ms,
                 "Master: a subscriber that acknowledges nothing for this long is dropped "
                 "(1000 to 600000)")
      ->capture_default_str();
  app.add_option("--max-subscriptions", o.max_subscriptions,
                 "Master: event subscriptions it serves at once (1 to 100000)")
      ->capture_default_str();
  app.add_option("--max-message-size", o.max_message_size,
                 "All: the largest message a peer may send (a larger one drops the peer)")
      ->capture_default_str();
  app.add_option("--max-connections-per-address", o.max_connections_per_address,
                 "All: the most connections one peer address may hold open (1 to 65536); one "
                 "more is closed at once")
      ->capture_default_str();
  app.add_option("--tls-handshake-timeout-ms", o.tls_handshake_timeout_ms,
                 "All: a connection whose TLS handshake has not finished by then is closed "
                 "(100 to 600000)")
      ->capture_default_str();
  app.set_config("--config", "", "Read these options from a file (see config/*.conf)");
  std::vector<std::string> keys; // what a config file may set: every option above, by name
  for (const auto* option : app.get_options())
    for (const auto& name : option->get_lnames())
      if (name != "config" && name != "help")
        keys.push_back(name);
  app.config_formatter(std::make_shared<strict_config>(std::move(keys)));
}

} // namespace claud::cli
