#pragma once
// The client commands of the `claud` binary. Each connects to the cluster through the client
// library, prints a table (or with --json one stable JSON document) and returns the exit code.

#include <string>
#include <vector>

#include "claud/client.hpp"
#include "cluster.pb.h"

namespace claud::cli {

struct common_options {
  std::string cluster; // HOST:PORT[,...]; empty = $CLAUD_ADDR, else the dev address
  bool json = false;
  bool local = false; // reads: answer from the reached master's own state (maybe behind)
  std::string tls_ca; // mutual TLS; empty = $CLAUD_TLS_CA, $CLAUD_TLS_CERT, $CLAUD_TLS_KEY
  std::string tls_cert;
  std::string tls_key;
};

struct submit_options {
  std::string name;
  std::string cpus = "0.1";
  std::string memory = "64M";
  bool wait = false;
  std::string restart = "never";           // never | on-failure | always
  uint32_t max_attempts = 3;               // 0 = no limit
  std::string on_node_lost = "reschedule"; // reschedule | fail
  int64_t backoff_ms = 1000;
  std::vector<std::string> constraints; // KEY=VALUE or KEY!=VALUE
  std::string strategy = "binpack";     // binpack | spread
  std::string user;                     // "": the slave's --run-as
  std::string idempotency_key;          // empty: the client library makes one
  std::vector<std::string> env;         // NAME=VALUE, after those of env_file
  std::string env_file;                 // "": none
  std::string workdir;                  // "": the slave's working directory
  std::string timeout;                  // "": no limit; else a duration ("30s")
  std::string stdin_file;               // "": /dev/null
  std::vector<std::string> after;       // JOB[:ok|:any|:fail]
  std::vector<std::string> command;
};

struct logs_options {
  std::string job_id;
  bool stderr_stream = false;
  bool follow = false; // keep printing while the job runs, until it ends
};

/// What the flags (or $CLAUD_ADDR, $CLAUD_TLS_*) say to connect to.
client_options connection(const common_options& common);
/// The same, for a read that must not hang a prompt or a screen: a second in all, half a second
/// a try (what it could not read, it shows as unknown).
client_options quick_connection(const common_options& common);

int submit_command(const common_options& common, const submit_options& options);
int status_command(const common_options& common, const std::string& job_id);

struct run_options {
  std::string file;     // the job file (JSON)
  bool example = false; // print a commented sample instead
  bool wait = false;
};

/// Submits the job a job file describes (job_file.hpp), as `submit` would.
int run_command(const common_options& common, const run_options& options);

/// Submits `spec`, prints its id (or its record with --json); with `wait`, waits for its end and
/// returns the `submit --wait` status.
int submit_spec(const common_options& common, const pb::JobSpec& spec, bool wait);
/// Waits until every job has ended; 0 if all succeeded, else the `submit --wait` status of the
/// first one (in the order given) that did not.
int wait_command(const common_options& common, const std::vector<std::string>& job_ids);
int jobs_command(const common_options& common);

struct events_options {
  bool jobs = false;                // every job's events
  std::vector<std::string> job_ids; // these jobs' events
  std::string name_prefix;          // the events of jobs whose name starts with it
  bool nodes = false;
  bool leader = false;
  int64_t from = -1; // start after this index; -1: with a snapshot of the current states
  int64_t count = 0; // stop after this many events (0: until interrupted)
};

/// Prints the event stream (nothing selected: every event) until interrupted or `count`.
int events_command(const common_options& common, const events_options& options);
int nodes_command(const common_options& common);
int logs_command(const common_options& common, const logs_options& options);
int kill_command(const common_options& common, const std::string& job_id);
int leader_command(const common_options& common);

struct drain_options {
  std::string node_id;
  bool migrate = false; // also move its jobs elsewhere
  bool undo = false;    // take the node back into use
};

int drain_command(const common_options& common, const drain_options& options);

struct masters_options {
  std::string action; // add | remove
  std::string master; // add: HOST:PORT; remove: HOST:PORT or node id
};

int masters_command(const common_options& common, const masters_options& options);

/// The address a client uses when none is given and $CLAUD_ADDR is unset: the dev node's.
constexpr const char* default_cluster_address = "127.0.0.1:7400";

} // namespace claud::cli
