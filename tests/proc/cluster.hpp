#pragma once
// A harness for tests that run real `claud` processes (DESIGN.md §5, level 4).
//
// A `cluster` owns a temporary root directory and every process it starts. Each node gets a free
// loopback port, its own data dir (ROOT/<name>/data) and its stdout/stderr in files beside it
// (ROOT/<name>/stdout-<incarnation>.log, ...). Nodes start with short timings, and a start returns
// only once the node answers a client command (polled with a deadline, never a fixed sleep).
//
// Cleanup: the destructor SIGKILLs the process group of every process it started and reaps it,
// also when a test fails or throws. The test process is made a child subreaper, so job processes
// that a SIGKILLed slave leaves behind become its children and are killed and reaped as well.
// Every child also gets PR_SET_PDEATHSIG(SIGKILL), so a crashed test binary leaves no claud behind.
// The root dir is removed unless the test failed (a failed assertion or an exception); then its
// path is printed. Set CLAUD_TEST_KEEP=1 to keep it always.
//
// Threads: run() may be called from several threads at once (it only reads the cluster), but start,
// restart and kill nodes from the thread that owns the cluster: PR_SET_PDEATHSIG fires when the
// thread that forked a child exits.

#include <sys/types.h>

#include <chrono>
#include <csignal>
#include <functional>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "hosts.hpp"
#include "json.hpp"
#include "process.hpp"

namespace claud::test {

using namespace std::chrono_literals;
using std::chrono::milliseconds;

/// Whether a job state is final.
bool is_terminal_state(const std::string& state);
/// The role that a `leader --json` (or `masters --json`) document gives the master at `address`,
/// "" when it does not list it.
std::string master_role(const json& leader_info, const std::string& address);

struct node_process {
  std::string name;
  std::string role;              // master | slave | dev
  std::string address;           // 127.0.0.1:PORT, or HOST-ADDRESS:7400 on a host
  std::string dir;               // ROOT/<name>
  std::string data_dir;          // ROOT/<name>/data
  std::vector<std::string> args; // flags after the binary, reused by restart()
  std::string master;            // slaves: the master they join
  int host = 0;                  // after use_hosts(): the host it runs on (1-based), else 0
  pid_t pid = 0;                 // 0 when not running
  int incarnation = 0;
  int exit_status = -1; // of the last incarnation that ended
};

class cluster {
public:
  /// Creates the root dir (mkdtemp $TMPDIR/claud-proc-XXXXXX, /tmp by default).
  cluster();
  /// Ends every process it started, then removes the root dir unless the test failed.
  ~cluster();
  cluster(const cluster&) = delete;
  cluster& operator=(const cluster&) = delete;

  /// The claud binary every process runs: $CLAUD_TEST_BINARY if set, else this build's.
  static std::string binary();
  /// The name of the user running the tests (slaves and dev nodes run jobs as that user).
  static std::string current_user();

  const std::string& root() const {
    return root_;
  }

  /// A master (--registration-grace-ms 1500) on a free port; returns once it answers `nodes`
  /// (with --joining in `extra`: `leader --local`, since it has no leader until it is added).
  node_process& start_master(const std::string& name, std::vector<std::string> extra = {});
  /// Masters forming one raft group: ports are chosen for all first, each gets the same --join
  /// list of all of them (itself included); returns once each answers `nodes` (which needs a
  /// leader, so a majority of them up).
  void start_masters(const std::vector<std::string>& names, std::vector<std::string> extra = {});
  /// The names of the masters started, in start order.
  std::vector<std::string> master_names() const;
  /// The name of the master that leads now, as the running masters report it (polled).
  std::string leader_name(milliseconds timeout = 15s);
  /// Waits until a master other than `former` leads (after `former` was killed); its name.
  std::string leader_other_than(const std::string& former, milliseconds timeout = 15s);
  /// Waits until a leader's `leader --json` shows every master running with its whole log.
  void wait_masters_in_sync(milliseconds timeout = 15s);

  /// A slave with --node-id NAME joining `master` (default: every master; by_beacon: none, after
  /// use_discovery()); returns once the leader lists it as alive.
  node_process& start_slave(const std::string& name, const std::string& cpus,
                            const std::string& memory, std::vector<std::string> extra = {},
                            const std::string& master = {});
  /// From now on every node started runs mutual TLS with a certificate of its own
  /// (tls_dir()/NAME.pem: role slave for slaves, master for the others), and every command runs
  /// with the client certificate tls_dir()/operator.pem (through $CLAUD_TLS_*).
  void use_tls();
  /// ROOT/tls: the cluster CA and every certificate issued.
  std::string tls_dir() const {
    return root_ + "/tls";
  }
  /// `args` (a command and its flags) run as the holder of tls_dir()/HOLDER.pem, a certificate
  /// issued for the test, instead of the operator.
  std::vector<std::string> as(const std::string& holder, std::vector<std::string> args) const;
  /// Issues tls_dir()/NAME.pem and NAME-key.pem (`claud tls cert`) for a node at `ip`.
  void issue_certificate(const std::string& name, const std::string& role,
                         const std::string& ip = "127.0.0.1") const;

  /// From now on every node started finds the others by UDP beacons as well: it gets a secret
  /// made for the test (secret_file()), --cluster-name test, and --discovery on a free UDP port
  /// of the loopback network's broadcast address (127.255.255.255; discovery_port()), beaconing
  /// every 200 ms.
  void use_discovery();
  std::string secret_file() const {
    return root_ + "/cluster.secret";
  }
  int discovery_port() const {
    return discovery_port_;
  }
  /// From now on each node started runs on a host of its own, the next of `count` network
  /// namespaces (hosts.hpp), at HOST-ADDRESS:7400; with use_discovery() it beacons to the hosts'
  /// broadcast address, with use_tls() its certificate names its host's address. Returns why
  /// hosts cannot be made here ("" once they are): the test then skips, saying so.
  std::string use_hosts(int count);
  const network_hosts* hosts() const {
    return hosts_.get();
  }
  network_hosts* hosts() {
    return hosts_.get();
  }

  /// start_slave's `master` for a slave without --join: it finds the masters by their beacons.
  static inline const std::string by_beacon = "(beacon)";

  /// A dev node (master and slave in one process); returns once it lists itself as alive.
  node_process& start_dev(const std::string& name, std::vector<std::string> extra = {});

  /// Starts a stopped node again with the same flags, port and data dir, and waits as its start
  /// did. A running node is killed first (SIGKILL).
  node_process& restart(const std::string& name);

  /// Sends `signal` to the node's process group. SIGKILL also reaps it.
  void kill(const std::string& name, int signal);

  /// SIGTERM to the node (not its group: the node stops its own jobs) and waits up to `timeout`
  /// for it to exit; true once it has (its status is in exit_status), false if it still runs
  /// (then the destructor kills it).
  bool stop(const std::string& name, milliseconds timeout);

  /// Runs the claud binary with exactly `args` (no --cluster added), e.g. a node that should
  /// refuse to start; it is killed after `timeout` (then timed_out is set).
  run_result run_raw(std::vector<std::string> args, milliseconds timeout = 20s) const;

  node_process& node(const std::string& name);
  const std::string& address(const std::string& name) {
    return node(name).address;
  }
  /// The default --cluster address: every master (or the dev node), comma-separated.
  std::string cluster_address() const;

  /// Runs the claud CLI with `args` and, unless it already has --cluster, `--cluster` set to the
  /// cluster's address.
  run_result run(std::vector<std::string> args, milliseconds timeout = 20s) const;
  /// Starts the claud CLI with `args` (`--cluster` added as run() does) and leaves it running,
  /// its stdout and stderr in ROOT/cli-N/; the cluster ends it with the nodes (by PID), unless
  /// the test did first.
  running_process& start_cli(std::vector<std::string> args);
  /// run(), then requires exit 0 and parses stdout as JSON (throws with the output otherwise).
  json run_json(std::vector<std::string> args, milliseconds timeout = 20s) const;

  /// Submits a job (`submit --json [options] -- command...`), requires success, returns its id.
  std::string submit(const std::vector<std::string>& command,
                     const std::vector<std::string>& options = {}) const;
  json job(const std::string& id) const; // `status ID --json`
  json jobs() const;                     // `jobs --json`
  json nodes() const;                    // `nodes --json`
  /// The node record of `node_id` in `nodes --json`, or null if absent.
  json node_record(const std::string& node_id) const;

  /// Polls `predicate` every 50 ms until it returns true or `timeout` passes; then throws
  /// std::runtime_error with `what` and the last `describe()` text.
  void wait_until(const std::string& what, const std::function<bool()>& predicate,
                  milliseconds timeout = 15s, const std::function<std::string()>& describe = {});
  /// Waits until the job is in a final state and returns its record.
  json wait_job(const std::string& id, milliseconds timeout = 20s);
  json wait_job_state(const std::string& id, const std::string& state, milliseconds timeout = 20s);
  /// Waits until the job runs on `node` (after a reschedule or a migration) and returns it.
  json wait_running_on(const std::string& id, const std::string& node, milliseconds timeout = 10s);
  /// The pid a job printed as its first output line (`sh -c 'echo $$; exec ...'`), once printed:
  /// lets a test tell when that very process is gone.
  pid_t wait_printed_pid(const std::string& id, milliseconds timeout = 15s);

  /// The stdout/stderr file contents of the node's current (or last) incarnation.
  std::string node_stdout(const std::string& name) const;
  std::string node_stderr(const std::string& name) const;

  /// A loopback port that nothing listens on right now (bind 127.0.0.1:0, read, close).
  static int free_port();
  /// The same for UDP on every address (bind 0.0.0.0:0).
  static int free_udp_port();

private:
  node_process& add_node(const std::string& name, const std::string& role,
                         std::vector<std::string> args, const std::string& master);
  /// The CLI's command line: the binary, then `args` with --cluster added (but for a flag first).
  std::vector<std::string> command_line(std::vector<std::string> args) const;
  void spawn(node_process& p);
  void launch_and_wait(node_process& p);
  void wait_ready(node_process& p);
  /// waitpid(WNOHANG); records the status and clears pid when it has exited.
  bool reap_if_exited(node_process& p);
  void end_process(node_process& p);
  std::string file_of(const node_process& p, const char* stream) const;

  std::string root_;
  std::map<std::string, node_process> nodes_;
  std::vector<std::unique_ptr<running_process>> clis_;
  std::vector<std::string> start_order_;
  std::vector<int> used_ports_;
  bool tls_ = false;
  int discovery_port_ = 0; // 0: no discovery
  std::unique_ptr<network_hosts> hosts_;
  int hosts_used_ = 0;
  long failures_at_start_ = 0;
};

} // namespace claud::test
