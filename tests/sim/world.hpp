#pragma once
// The whole cluster in the simulator: the masters (cluster.hpp: raft, ready loop, state machine),
// each with its leader's lifecycle cores (master_host.hpp), simulated slaves running fake jobs
// through the supervisor's core (slave_sim.hpp) and clients that submit, kill and drain
// (client_sim.hpp), all on one step clock, the masters over their network and everyone else over
// the wire (wire.hpp). One step: the masters step; messages due on the wire are delivered; slaves,
// hosts and clients tick; the masters process what was proposed; the lifecycle checks run
// (lifecycle_checker.hpp), after the raft checks the cluster runs itself.
// Names tell the parts apart on the wire: masters m0.., slaves s0.., clients c0...

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "client_sim.hpp"
#include "cluster.hpp"
#include "event_follower.hpp"
#include "lifecycle_checker.hpp"
#include "master_host.hpp"
#include "slave_sim.hpp"
#include "wire.hpp"

namespace claud::sim {

struct world_options {
  cluster_options masters;
  int slaves = 3;
  int clients = 2;
  int64_t slave_cpu_millis = 4000;
  int64_t slave_memory_bytes = int64_t{8} << 30;
  int wire_max_delay_steps = 3;
  lifecycle_timing timing;
};

class world {
public:
  explicit world(world_options options);

  void step();
  uint64_t now() const {
    return masters_.now();
  }
  cluster& masters() {
    return masters_;
  }
  const cluster& masters() const {
    return masters_;
  }

  // Slaves.
  const std::vector<std::string>& slave_ids() const {
    return slave_ids_;
  }
  const slave_sim& slave(const std::string& id) const;
  void crash_slave(const std::string& id);
  void restart_slave(const std::string& id);
  void freeze_slave(const std::string& id);
  void thaw_slave(const std::string& id);
  /// Cuts the slave's links to every master (it is cut off).
  void cut_slave(const std::string& id);
  /// Restores every slave link.
  void heal_slaves();
  bool slave_cut_off(const std::string& id) const {
    return wire_.touches(id);
  }

  // Clients.
  void submit(size_t client);
  void kill(size_t client);
  void drain(size_t client, const std::string& node_id, bool draining);
  size_t clients() const {
    return clients_.size();
  }
  const client_sim& client(size_t i) const {
    return clients_.at(i);
  }
  /// No client request is outstanding.
  bool clients_idle() const;
  /// The nodes the leader's state holds as draining (none without a leader).
  std::vector<std::string> drained_nodes() const;

  /// Every committed job has ended and no slave runs a supervised process.
  bool settled() const;
  /// What keeps it from settling, in one line.
  std::string unsettled() const;
  /// The end-of-run checks (lifecycle_checker::check_end, and the event subscriber's).
  void check_end();
  const event_follower& event_stream() const {
    return follower_;
  }
  const lifecycle_checker& check() const {
    return checker_;
  }
  trace& events() {
    return masters_.events();
  }

private:
  slave_sim& slave_at(const std::string& id);
  /// Sends over the wire as `from`.
  std::function<void(const std::string&, message)> sender(const std::string& from);
  void follow_masters();
  void deliver();
  /// A master's or a slave's process died: the other side hears its connections close.
  void connections_closed(const std::string& id, const std::string& connection);
  void fault(const std::string& slave, const std::string& what);
  void trace_committed();
  /// Each master's state while it is up, else null (for the event feeds' snapshots).
  std::function<const state::cluster_state*(const std::string&)> states() const;
  int64_t now_ms() const {
    return static_cast<int64_t>(now()) * cluster::ms_per_step;
  }

  world_options options_;
  cluster masters_;
  wire<message> wire_;
  std::vector<std::string> slave_ids_;
  std::vector<std::unique_ptr<master_host>> hosts_;
  std::vector<std::unique_ptr<slave_sim>> slaves_;
  std::vector<client_sim> clients_;
  std::vector<bool> master_up_;
  lifecycle_checker checker_;
  event_follower follower_;
  slave_events slave_events_;
  uint64_t traced_index_ = 0;
};

} // namespace claud::sim
