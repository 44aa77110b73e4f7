#include "random_run.hpp"

#include <algorithm>
#include <cmath>
#include <functional>
#include <map>
#include <sstream>

#include <fmt/format.h>

#include "cluster.hpp"
#include "fault_driver.hpp"

namespace claud::sim {

namespace {

/// Phase 2: with every fault healed, a leader must be elected and a new proposal commit.
void require_progress(cluster& t, int budget_steps, const std::function<void()>& step) {
  std::string probe, proposer;
  uint64_t proposer_term = 0;
  for (int i = 0; i < budget_steps; ++i) {
    if (!probe.empty() && t.committed(probe))
      return;
    // A probe proposed to a leader that lost its term can never commit: propose again.
    auto leader = t.leader();
    if (!leader.empty()
        && (probe.empty() || leader != proposer || t.term(leader) != proposer_term)) {
      probe = t.propose(leader);
      proposer = leader;
      proposer_term = t.term(leader);
    }
    step();
  }
  if (probe.empty() || !t.committed(probe))
    throw invariant_violation(fmt::format(
        "liveness: all masters up and the network healed, but no new proposal committed within "
        "{} steps; leader now: '{}'",
        budget_steps, t.leader()));
}

} // namespace

void heal_and_require_progress(cluster& t, const run_parameters& p, std::function<void()> step) {
  if (!step)
    step = [&t] { t.step(); };
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
  // 20 election timeouts of the slowest clock, plus, when messages carry few entries, the round
  // trips that moving the longest uncommitted log takes (it goes before the probe).
  const double slowest = *std::min_element(p.tick_probability.begin(), p.tick_probability.end());
  uint64_t backlog = 0;
  for (const auto& id : t.ids())
    backlog = std::max(backlog, t.master(id).raft().log().last_index());
  backlog -= std::min(backlog, t.check().commit_index());
  const uint64_t round_trips
      = (backlog + p.max_entries_per_message - 1) / p.max_entries_per_message;
  const int budget = static_cast<int>(std::ceil(20 * p.election_ticks / slowest))
                     + static_cast<int>(round_trips) * 2 * quiet.max_delay_steps;
  require_progress(t, budget, step);

  for (int i = 0; i < budget && !t.converged(); ++i)
    step();
  if (!t.converged())
    throw invariant_violation(
        fmt::format("liveness: masters did not all apply the {} committed entries within {} steps",
                    t.check().commit_index(), budget));
}

run_result run_seed(const run_options& options, std::ostream& out) {
  prng rng(options.seed);
  const run_parameters p = draw_parameters(rng, options.masters);
  if (options.print_parameters)
    out << "parameters: masters=" << options.masters << " steps=" << options.steps << ' '
        << describe(p) << '\n';

  cluster_options co;
  co.masters = options.masters;
  co.voters = p.initial_voters;
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

    heal_and_require_progress(t, p);
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
