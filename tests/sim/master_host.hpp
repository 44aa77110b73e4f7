#pragma once
// What one simulated master runs beside its replica: the leader's lifecycle cores — the scheduler's
// sched::pending_queue and the resource tracker's sched::slave_registry and sched::reconcile — fed
// with the replica's committed changes, as the scheduler, resource_tracker and api actors feed
// them, and answering slaves and clients over the wire. Like those actors it works only while its
// master leads, and its state dies with its master (reset()).
//
// A proposal's answer is what leader_election gives: the apply result once its index commits in
// the term it was proposed in, else "not applied" (another term's entry took the index, or this
// master stopped leading first: the outcome is unknown to the proposer).

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "cluster.hpp"
#include "lifecycle_messages.hpp"
#include "sched/pending_queue.hpp"
#include "sched/slave_registry.hpp"
#include "wire.hpp"

namespace claud::sim {

/// The lifecycle's timing, in steps (cluster::ms_per_step each).
struct lifecycle_timing {
  int64_t slave_timeout_steps = 30;
  int64_t registration_grace_steps = 60;
  int64_t ping_every_steps = 5;
  int64_t ping_timeout_steps = 15;
  int64_t register_timeout_steps = 20;
  int64_t report_timeout_steps = 20;
  int64_t started_report_delay_steps = 2;
  int64_t output_wait_steps = 10;
  int64_t kill_grace_steps = 10;
  size_t max_placements_per_pass = 64;
};

class master_host {
public:
  master_host(std::string id, cluster& masters, wire<message>& wire,
              std::vector<std::string> slaves, const lifecycle_timing& timing);

  /// The master's process died: everything this host held is gone.
  void reset();
  /// An output of this master's replica (the cluster's observer).
  void on_output(const replica::output& out, uint64_t now);
  void deliver(const std::string& from, const message& m, uint64_t now);
  /// Follows the master's role, and does what is due: heartbeat checks, the grace's end, the
  /// step's submissions, a scheduler pass, the queued starts.
  void tick(uint64_t now);

  /// Called with every entry this host proposes (the checks judge a decision when it is made).
  void on_propose(std::function<void(const pb::LogEntry&)> observer) {
    on_propose_ = std::move(observer);
  }

  bool leading() const {
    return slaves_.leading();
  }
  size_t registered() const {
    return slaves_.size();
  }

private:
  using done_fn = std::function<void(const state::apply_result*)>;
  struct proposal {
    uint64_t term = 0;
    done_fn done;
  };
  struct submission {
    std::string client;
    uint64_t request = 0;
    pb::JobSpec spec;
  };

  static int64_t ms(uint64_t step) {
    return static_cast<int64_t>(step) * cluster::ms_per_step;
  }
  const state::cluster_state& state() const {
    return masters_.master(id_).state();
  }
  void propose(pb::LogEntry entry, done_fn done);
  void fail_proposals();
  void send(const std::string& to, message m);
  void send_to_slave(const sched::slave_registry<std::string>::message& m);
  void follow_role(uint64_t now);
  void on_register(const std::string& from, const register_slave& r, uint64_t now);
  void on_reports(const std::string& from, const job_reports& r, uint64_t now);
  void on_client(const std::string& from, const message& m);
  void place_submissions();
  void pass(uint64_t now);

  std::string id_;
  cluster& masters_;
  wire<message>& wire_;
  std::vector<std::string> slave_ids_;
  lifecycle_timing timing_;
  uint64_t now_ = 0;

  sched::pending_queue queue_;
  sched::slave_registry<std::string> slaves_;
  std::map<uint64_t, proposal> proposals_; // by log index
  std::vector<submission> submissions_;    // this step's, placed as one batch
  // Retries of submissions in flight, by idempotency key: they get the first one's answer.
  std::map<std::string, std::vector<std::pair<std::string, uint64_t>>> followers_;
  bool pass_requested_ = false;
  int64_t wake_at_ms_ = 0;
  uint64_t grace_ends_ = 0; // 0 once over
  uint64_t next_heartbeat_check_ = 0;
  std::function<void(const pb::LogEntry&)> on_propose_;
};

} // namespace claud::sim
