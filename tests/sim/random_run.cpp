#include "random_run.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <sstream>

#include <fmt/format.h>

#include "cluster.hpp"

namespace claud::sim {

namespace {

/// Everything the seed decides about a run, drawn before it starts (and printed with --seed).
struct parameters {
  int election_ticks = 10;
  int heartbeat_ticks = 1;
  uint64_t snapshot_every = 20;
  size_t max_entries_per_message = 256;
  network_options network;
  double partition_probability = 0; // per step: cut some links
  double heal_probability = 0;      // per step, while cut: heal them all
  double crash_probability = 0;     // per step
  int max_down = 1;                 // masters down (or about to crash) at once
  double long_outage_probability = 0;
  double torn_probability = 0;      // of a crash: torn at the next sync
  double after_sync_probability = 0; // of a crash: after the next sync, before sending
  double hint_probability = 0;
  double propose_probability = 0; // per step
  double read_probability = 0;    // per step
  std::vector<double> tick_probability; // per master
};

parameters draw(prng& rng, int masters) {
  parameters p;
  p.election_ticks = static_cast<int>(rng.between(8, 14));
  p.heartbeat_ticks = static_cast<int>(rng.between(1, 2));
  p.snapshot_every = static_cast<uint64_t>(rng.between(8, 40));
  // Small batches make a catching-up follower take many appends, each a chance to lose one.
  p.max_entries_per_message = rng.chance(0.5) ? 256 : static_cast<size_t>(rng.between(1, 4));
  p.network.loss = rng.chance(0.2) ? 0 : rng.unit() * 0.2;
  p.network.duplicate = rng.chance(0.3) ? 0 : rng.unit() * 0.1;
  p.network.min_delay_steps = 1;
  // Now and then delays beyond an election timeout: messages of old terms arrive very late.
  p.network.max_delay_steps = static_cast<int>(rng.chance(0.1) ? rng.between(8, 20)
                                                                : rng.between(1, 6));
  p.partition_probability = 0.002 + rng.unit() * 0.02;
  p.heal_probability = 0.01 + rng.unit() * 0.08;
  p.crash_probability = rng.chance(0.1) ? 0 : rng.unit() * 0.02;
  const int tolerated = (masters - 1) / 2;
  p.max_down = rng.chance(0.25) ? masters : tolerated;
  p.long_outage_probability = rng.unit() * 0.4;
  p.torn_probability = rng.unit() * 0.6;
  p.after_sync_probability = rng.unit() * 0.2;
  p.hint_probability = rng.chance(0.3) ? 0 : rng.unit();
  p.propose_probability = 0.05 + rng.unit() * 0.4;
  p.read_probability = rng.unit() * 0.1;
  for (int i = 0; i < masters; ++i)
    p.tick_probability.push_back(rng.chance(0.5) ? 1.0 : 0.6 + rng.unit() * 0.4);
  return p;
}

std::string describe(const parameters& p) {
  return fmt::format(
      "election_ticks={} heartbeat_ticks={} snapshot_every={} batch={} loss={:.3f} duplicate={:.3f} "
      "delay_steps=1..{} partition={:.4f} heal={:.3f} crash={:.4f} max_down={} long_outage={:.2f} "
      "torn={:.2f} after_sync={:.2f} hint={:.2f} propose={:.3f} read={:.3f} ticks=[{:.2f}]",
      p.election_ticks, p.heartbeat_ticks, p.snapshot_every, p.max_entries_per_message,
      p.network.loss, p.network.duplicate,
      p.network.max_delay_steps, p.partition_probability, p.heal_probability, p.crash_probability,
      p.max_down, p.long_outage_probability, p.torn_probability, p.after_sync_probability,
      p.hint_probability, p.propose_probability, p.read_probability,
      fmt::join(p.tick_probability, ","));
}

/// The fault phase's choices, one step at a time.
class fault_driver {
public:
  fault_driver(cluster& t, const parameters& p, uint64_t seed) : t_(t), p_(p), rng_(seed) {
  }

  void before_step() {
    restarts();
    if (rng_.chance(p_.partition_probability))
      partition();
    else if (!t_.net().healed() && rng_.chance(p_.heal_probability))
      t_.heal();
    if (rng_.chance(p_.crash_probability))
      crash();
    clients();
  }

private:
  std::string any_master() {
    return rng_.pick(t_.ids());
  }
  std::string leader_or_any() {
    auto leader = t_.leader();
    return leader.empty() ? any_master() : leader;
  }

  void partition() {
    const auto& ids = t_.ids();
    switch (rng_.below(6)) {
      case 0:
        t_.isolate(any_master());
        break;
      case 1:
        t_.isolate(leader_or_any());
        break;
      case 2: { // a symmetric split, the smaller side drawn at random
        std::vector<std::string> shuffled = ids;
        for (size_t i = shuffled.size(); i > 1; --i)
          std::swap(shuffled[i - 1], shuffled[rng_.below(i)]);
        shuffled.resize(1 + rng_.below(ids.size() / 2));
        t_.partition(shuffled);
        break;
      }
      case 3: // one-way links at random
        for (const auto& from : ids)
          for (const auto& to : ids)
            if (from != to && rng_.chance(0.25))
              t_.cut(from, to);
        break;
      case 4: { // the leader can send but not receive
        auto leader = leader_or_any();
        for (const auto& from : ids)
          if (from != leader)
            t_.cut(from, leader);
        break;
      }
      default: { // the leader can receive but not send
        auto leader = leader_or_any();
        for (const auto& to : ids)
          if (to != leader)
            t_.cut(leader, to);
        break;
      }
    }
  }

  void crash() {
    int faulty = 0;
    std::vector<std::string> candidates;
    for (const auto& id : t_.ids()) {
      if (!t_.up(id) || t_.crashing(id))
        ++faulty;
      else
        candidates.push_back(id);
    }
    if (faulty >= p_.max_down || candidates.empty())
      return;
    // The leader crashes more often than its share: that is where the protocol works hardest.
    auto leader = t_.leader();
    auto victim = !leader.empty() && rng_.chance(0.4) ? leader : rng_.pick(candidates);
    const double mode = rng_.unit();
    if (mode < p_.torn_probability)
      t_.crash(victim, crash_mode::torn_write);
    else if (mode < p_.torn_probability + p_.after_sync_probability)
      t_.crash(victim, crash_mode::after_sync);
    else
      t_.crash(victim, crash_mode::now);
  }

  void restarts() {
    for (const auto& id : t_.ids()) {
      if (t_.up(id)) {
        restart_at_.erase(id);
        continue;
      }
      auto it = restart_at_.find(id);
      if (it == restart_at_.end()) {
        // A long outage outlasts several snapshots, so the master comes back behind the leader's
        // compacted log and needs a snapshot.
        const bool long_outage = rng_.chance(p_.long_outage_probability);
        const auto outage = long_outage ? rng_.between(150, 500) : rng_.between(2, 60);
        restart_at_[id] = t_.now() + static_cast<uint64_t>(outage);
      } else if (t_.now() >= it->second) {
        restart_at_.erase(it);
        t_.restart(id);
      }
    }
  }

  void clients() {
    if (rng_.chance(p_.propose_probability))
      t_.propose(rng_.chance(0.85) ? leader_or_any() : any_master());
    if (rng_.chance(p_.read_probability))
      t_.read(leader_or_any());
  }

  cluster& t_;
  const parameters& p_;
  prng rng_;
  std::map<std::string, uint64_t> restart_at_;
};

/// Phase 2: with every fault healed, a leader must be elected and a new proposal commit.
void require_progress(cluster& t, int budget_steps) {
  std::string probe, proposer;
  uint64_t proposer_term = 0;
  for (int i = 0; i < budget_steps; ++i) {
    if (!probe.empty() && t.committed(probe))
      return;
    // A probe proposed to a leader that lost its term can never commit: propose again.
    auto leader = t.leader();
    if (!leader.empty() && (probe.empty() || leader != proposer || t.term(leader) != proposer_term)) {
      probe = t.propose(leader);
      proposer = leader;
      proposer_term = t.term(leader);
    }
    t.step();
  }
  if (probe.empty() || !t.committed(probe))
    throw invariant_violation(fmt::format(
        "liveness: all masters up and the network healed, but no new proposal committed within "
        "{} steps (20 election timeouts); leader now: '{}'",
        budget_steps, t.leader()));
}

} // namespace

run_result run_seed(const run_options& options, std::ostream& out) {
  prng rng(options.seed);
  const parameters p = draw(rng, options.masters);
  if (options.print_parameters)
    out << "parameters: masters=" << options.masters << " steps=" << options.steps << ' '
        << describe(p) << '\n';

  cluster_options co;
  co.masters = options.masters;
  co.seed = rng.fork();
  co.election_ticks = p.election_ticks;
  co.heartbeat_ticks = p.heartbeat_ticks;
  co.snapshot_every_entries = p.snapshot_every;
  co.max_entries_per_message = p.max_entries_per_message;
  co.network = p.network;
  co.hint_on_crash = p.hint_probability;

  run_result result;
  result.parameters = describe(p);
  cluster t(co);
  if (options.trace)
    t.events().echo_to(options.trace);
  for (size_t i = 0; i < t.ids().size(); ++i)
    t.set_tick_probability(t.ids()[i], p.tick_probability[i]);
  fault_driver faults(t, p, rng.fork());
  try {
    for (int i = 0; i < options.steps; ++i) {
      faults.before_step();
      t.step();
    }

    t.events().add(t.now(), "faults end: every master restarted, network healed and lossless");
    t.heal();
    for (const auto& id : t.ids()) {
      t.cancel_crash(id);
      t.restart(id);
    }
    auto quiet = p.network;
    quiet.loss = 0;
    quiet.duplicate = 0;
    // Raft's liveness needs messages faster than an election timeout; delays beyond it are a fault.
    quiet.max_delay_steps = std::min(quiet.max_delay_steps, 6);
    t.net().set_options(quiet);
    const double slowest = *std::min_element(p.tick_probability.begin(), p.tick_probability.end());
    const int budget = static_cast<int>(std::ceil(20 * p.election_ticks / slowest));
    require_progress(t, budget);

    if (!t.run_until([&] { return t.converged(); }, budget))
      throw invariant_violation(fmt::format(
          "liveness: masters did not all apply the {} committed entries within {} steps",
          t.check().commit_index(), budget));
    t.check_states();
  } catch (const std::exception& e) {
    // invariant_violation, or a logic_error the raft core or a store raised on a broken rule.
    result.ok = false;
    result.failure = e.what();
    result.step = t.now();
    std::ostringstream recent;
    t.events().dump(recent);
    result.recent = recent.str();
  }
  result.committed = t.check().commit_index();
  result.elections = t.check().leaders().size();
  result.messages = t.net().stats().sent;
  return result;
}

} // namespace claud::sim
