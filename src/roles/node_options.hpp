#pragma once
// Options of a claud node (master, slave or dev), from flags or --config, validated before any
// actor starts.

#include <chrono>
#include <string>
#include <vector>

namespace claud::roles {

struct node_options {
  std::string role;        // master | slave | dev
  std::string listen;      // HOST:PORT
  bool insecure = false;   // may listen on a non-loopback address without TLS
  std::string tls_ca;      // mutual TLS: the cluster CA's certificate (all three, or none)
  std::string tls_cert;    // this node's certificate: role master (masters, dev) or slave
  std::string tls_key;     // its private key, readable by its owner only
  std::string join;        // HOST:PORT[,...]: the masters (slaves), or the other masters (masters)
  bool joining = false;    // masters: a running cluster's --join; votes once `masters add` ran
  std::string secret_file; // discovery: the cluster secret; "": no beacons
  std::string cluster_name = "claud";             // discovery: beacons of other names are dropped
  std::string discovery = "255.255.255.255:7399"; // discovery: where beacons go, and their port
  int64_t beacon_interval_ms = 1000;              // discovery: how often a node beacons
  std::string data_dir;
  std::string node_id;                  // empty: generated once and kept in the data dir
  std::string cpus;                     // slaves: offered CPUs; empty = the machine's
  std::string memory;                   // slaves: offered memory; empty = the machine's
  std::vector<std::string> labels;      // slaves and dev: KEY=VALUE, as --label gives them
  std::string cgroups = "auto";         // slaves and dev: auto | off | required (job limits)
  std::string run_as;                   // slaves and dev: the user jobs run as; "": nobody as root
  std::vector<std::string> allow_users; // slaves and dev: users a job may ask for (submit --user)
  std::string log = "warn";
  int64_t registration_grace_ms = 5000;  // masters: how long restarted slaves have to re-register
  int64_t reconnect_interval_ms = 250;   // slaves: pause between attempts to reach a master
  int64_t kill_grace_ms = 3000;          // slaves: SIGTERM to SIGKILL
  int64_t wait_poll_ms = 2000;           // masters: longest a `wait` request is parked
  int64_t heartbeat_ms = 50;             // masters: leader heartbeat interval
  int64_t election_timeout_ms = 300;     // masters: a follower campaigns after 1-2x this silence
  int64_t ping_interval_ms = 500;        // slaves: how often a slave checks its leader
  int64_t slave_timeout_ms = 2000;       // masters: a slave silent this long is lost
  int64_t job_retention_ms = 86400000;   // masters: ended jobs leave the state after this long
  int64_t log_retention_ms = 86400000;   // slaves: output of ended jobs is deleted after this long
  std::string max_message_size = "256M"; // all: the most one peer's message may make it reserve
  int64_t max_connections_per_address = 256; // all: accepted connections one address may hold
  int64_t tls_handshake_timeout_ms = 10000;  // all: a TLS handshake not done by then is refused
  std::string max_output = "64M";            // slaves: what each job stream (stdout, stderr) keeps
  std::string min_free_disk = "1G";          // slaves: less free space in the data dir is reported
  int64_t event_history = 50000;             // masters: events kept for subscribers to resume from
  int64_t event_max_lag = 10000; // masters: a subscriber this far behind gets a snapshot instead
  int64_t event_lease_ms = 5000; // masters: a subscriber that acknowledges nothing this long goes
  int64_t max_subscriptions = 1000; // masters: event subscriptions one master serves at once
};

/// The masters' clock: raft counts time in ticks of this length.
constexpr int64_t raft_tick_ms = 10;

/// The default data dir of a role: $XDG_DATA_HOME/claud/<role> or ~/.local/share/claud/<role>.
std::string default_data_dir(const std::string& role);

/// Runs a node until SIGINT or SIGTERM; returns the process exit code. Errors a user can act on
/// are printed as one line.
int run_node(node_options options);

} // namespace claud::roles
