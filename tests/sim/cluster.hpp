#pragma once
// A simulated cluster of masters: N replica::replica (the same raft core, ready loop and state
// machine the real master runs), each over its own crash_store, talking through the simulated
// network under a step clock. Each step delivers the messages due, then ticks every live master
// (each with its own chance per step, which models clocks running at different speeds), and ends
// with the checker's per-step invariants. Time is only `now()`, randomness only the seed's: the
// same options give the same run.
//
// The API is what both the random runs and the scenario tests speak:
//   t.isolate("m0"); t.run_ticks(50); REQUIRE(t.leader() != "m0");

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "checker.hpp"
#include "crash_store.hpp"
#include "network.hpp"
#include "prng.hpp"
#include "replica/replica.hpp"
#include "trace.hpp"

namespace claud::sim {

struct cluster_options {
  int masters = 3;
  /// How many of them (the first ones) start as the cluster's voters; 0: all. The others start
  /// outside it, as masters not yet added do.
  int voters = 0;
  uint64_t seed = 1;
  int election_ticks = 10;
  int heartbeat_ticks = 1;
  uint64_t snapshot_every_entries = 20;
  size_t max_entries_per_message = 256;
  network_options network;
  /// When a master goes down, each follower that followed it is told so (the connection closed:
  /// raft_node::leader_unreachable) with this probability, once the messages the master sent it
  /// before going down have arrived (a connection delivers what it carried before it reports its
  /// close).
  double hint_on_crash = 0;
};

/// How a master crashes.
enum class crash_mode {
  now,        // between two batches: nothing is unsynced, nothing is lost
  torn_write, // at its next sync: a prefix of that batch's writes reaches the disk
  after_sync, // at its next sync, after the batch is durable but before its messages are sent
};

class cluster {
public:
  explicit cluster(cluster_options options);

  // Time.
  void step();
  void run_ticks(int steps);
  /// Steps until `done()` holds (checked before each step), at most `max_steps`; returns done().
  bool run_until(const std::function<bool()>& done, int max_steps);
  uint64_t now() const {
    return now_;
  }

  // Masters. Accessors of a crashed master's replica throw std::logic_error.
  const std::vector<std::string>& ids() const {
    return ids_;
  }
  bool up(const std::string& id) const;
  const replica::replica& master(const std::string& id) const;
  /// The live leader with the highest term, or "" when no master leads.
  std::string leader() const;
  raft::role role(const std::string& id) const;
  uint64_t term(const std::string& id) const;
  uint64_t commit(const std::string& id) const;
  /// Whether `id`'s log (not its snapshot) holds the job.
  bool holds(const std::string& id, const std::string& job) const;
  /// What a crashed master's disk would recover.
  const raft::raft_log& disk(const std::string& id) const;
  /// How many leader snapshots `id` installed since the cluster started.
  uint64_t snapshots_installed(const std::string& id) const {
    return at(id).snapshots_installed;
  }
  /// Chance that `id` ticks in a step (1 by default).
  void set_tick_probability(const std::string& id, double probability);

  // Faults.
  network& net() {
    return net_;
  }
  void isolate(const std::string& id);
  void cut(const std::string& from, const std::string& to);
  void partition(const std::vector<std::string>& side);
  void heal();
  void crash(const std::string& id, crash_mode mode = crash_mode::now);
  /// A master armed to crash at its next sync that has not yet crashed.
  bool crashing(const std::string& id) const;
  void cancel_crash(const std::string& id);
  void restart(const std::string& id);
  void hint_leader_unreachable(const std::string& id);
  /// A crashed master's disk is replaced by an empty one: a new machine at the same address.
  void wipe(const std::string& id);

  // Membership.
  /// Proposes a membership change to `id`; its index, or 0 if `id` is down, does not lead or
  /// refuses the change (raft_node::membership_problem).
  uint64_t change_membership(const std::string& id, pb::MembershipChange::Kind kind,
                             const std::string& who);
  /// Whether `id` is a voter or learner by the committed entries.
  bool member(const std::string& id) const {
    return checker_.membership().is_member(id);
  }

  // What runs beside the masters (the whole-cluster simulation, world.hpp).
  using output_observer = std::function<void(const std::string& master, const replica::output&)>;
  /// Called with every output of every master, after the checker saw it.
  void observe(output_observer observer) {
    observer_ = std::move(observer);
  }
  /// Proposes `entry` to `id` (stamped with the simulated time); its index, or 0 if `id` is down
  /// or does not lead. The master processes it at the end of the step (flush()), so a caller may
  /// note the index before any output about it is observed.
  uint64_t propose_entry(const std::string& id, pb::LogEntry entry);
  /// Processes every master with proposals since the last flush (step() ends with one).
  void flush();
  /// The simulated time of step `s`, as entries carry it.
  static constexpr int64_t ms_per_step = 10;

  // Clients.
  /// Proposes a new job to `id`; its distinct name ("job-<n>"), also its idempotency key, or "" if
  /// `id` is down or does not lead. With `retry`, proposes the previous submission again under
  /// its key, as a client does after a timeout or a failover: it must not make a second job.
  std::string propose(const std::string& id, bool retry = false);
  /// Asks `id` for a read index; the read's context, or 0 if `id` is down or does not lead.
  uint64_t read(const std::string& id);
  bool committed(const std::string& job) const {
    return checker_.committed_job(job) != 0;
  }

  /// Every member is up and has applied every committed entry (a removed master is not sent them).
  bool converged() const;
  /// Throws invariant_violation unless every live master at the commit index holds the state the
  /// committed entries produce (compared in canonical form; protobuf maps have no fixed order).
  void check_states() const;

  const checker& check() const {
    return checker_;
  }
  trace& events() {
    return trace_;
  }
  const cluster_options& options() const {
    return options_;
  }

private:
  struct node {
    std::string id;
    size_t index = 0;
    std::shared_ptr<crash_store> store;
    std::unique_ptr<replica::replica> replica; // null while crashed
    std::unique_ptr<raft::raft_log> durable;   // while crashed: what the disk would recover
    double tick_probability = 1;
    uint64_t starts = 0;
    uint64_t snapshots_installed = 0;
    // Written by the replica's request, adopted at its next step: a crash, a leader's snapshot
    // or more entries can come in between, as they do beside a real master's writer thread.
    std::optional<pb::Snapshot> snapshot_written;
    raft::role seen_role = raft::role::follower; // for the trace
    uint64_t seen_term = 0;
  };

  node& at(const std::string& id);
  const node& at(const std::string& id) const;
  void start(node& n);
  void go_down(node& n, const char* how);
  void process(node& n);
  void note_changes();
  void deliver_hints();

  cluster_options options_;
  std::vector<std::string> ids_;
  std::vector<std::string> voters_; // the ones the cluster started with
  std::vector<node> nodes_;
  prng rng_;
  network net_;
  checker checker_;
  trace trace_;
  struct hint {
    uint64_t due;
    std::string follower;
    std::string leader;
  };
  std::vector<hint> hints_; // leader_unreachable calls waiting for in-flight messages
  std::vector<node_view> views_;
  uint64_t now_ = 0;
  uint64_t jobs_ = 0;
  std::string last_job_; // the latest submission, which a retry sends again
  uint64_t reads_ = 0;
  uint64_t seen_commit_ = 0;
  output_observer observer_;
  std::vector<std::string> unprocessed_; // masters with proposals not yet processed
};

} // namespace claud::sim
