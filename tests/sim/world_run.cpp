#include "world_run.hpp"

#include <sstream>

#include <fmt/format.h>

#include "fault_driver.hpp"
#include "world.hpp"

namespace claud::sim {

namespace {

/// What the seed decides about the slaves and the clients.
struct world_parameters {
  double slave_crash = 0;  // per step
  double slave_freeze = 0; // per step
  double slave_cut = 0;    // per step
  double submit = 0;       // per step and client
  double kill = 0;         // per step and client
  double drain = 0;        // per step
};

world_parameters draw_world(prng& rng) {
  world_parameters w;
  w.slave_crash = rng.chance(0.3) ? 0 : rng.unit() * 0.006;
  w.slave_freeze = rng.chance(0.3) ? 0 : rng.unit() * 0.006;
  w.slave_cut = rng.chance(0.3) ? 0 : rng.unit() * 0.006;
  w.submit = 0.02 + rng.unit() * 0.15;
  w.kill = rng.unit() * 0.03;
  w.drain = rng.chance(0.5) ? 0 : rng.unit() * 0.01;
  return w;
}

std::string describe(const world_parameters& w) {
  return fmt::format("slave_crash={:.4f} slave_freeze={:.4f} slave_cut={:.4f} submit={:.3f} "
                     "kill={:.3f} drain={:.4f}",
                     w.slave_crash, w.slave_freeze, w.slave_cut, w.submit, w.kill, w.drain);
}

/// The slaves' faults and the clients' requests, one step at a time.
class world_driver {
public:
  world_driver(world& w, const world_parameters& p, uint64_t seed) : w_(w), p_(p), rng_(seed) {}

  void before_step() {
    const auto now = w_.now();
    for (auto it = ends_.begin(); it != ends_.end();) {
      if (it->second > now) {
        ++it;
        continue;
      }
      end_fault(it->first);
      it = ends_.erase(it);
    }
    const auto& ids = w_.slave_ids();
    if (rng_.chance(p_.slave_crash))
      start_fault(rng_.pick(ids), 'c');
    if (rng_.chance(p_.slave_freeze))
      start_fault(rng_.pick(ids), 'f');
    if (rng_.chance(p_.slave_cut))
      start_fault(rng_.pick(ids), 'x');
    for (size_t c = 0; c < w_.clients(); ++c) {
      if (rng_.chance(p_.submit))
        w_.submit(c);
      if (rng_.chance(p_.kill))
        w_.kill(c);
    }
    if (rng_.chance(p_.drain))
      w_.drain(0, rng_.pick(ids), rng_.chance(0.5));
  }

private:
  void start_fault(const std::string& slave, char kind) {
    if (ends_.count(slave))
      return; // one fault per slave at a time
    // Mostly shorter than the slave timeout (a blip the leader must ride out), sometimes longer.
    const auto outage = rng_.chance(0.5) ? rng_.between(1, 20) : rng_.between(20, 200);
    ends_[slave] = w_.now() + static_cast<uint64_t>(outage);
    kinds_[slave] = kind;
    if (kind == 'c')
      w_.crash_slave(slave);
    else if (kind == 'f')
      w_.freeze_slave(slave);
    else
      w_.cut_slave(slave);
  }
  void end_fault(const std::string& slave) {
    switch (kinds_[slave]) {
    case 'c':
      w_.restart_slave(slave);
      break;
    case 'f':
      w_.thaw_slave(slave);
      break;
    default:
      heal_cuts(slave);
    }
  }
  /// The wire heals every cut at once; cuts of other slaves still due stay until then.
  void heal_cuts(const std::string& slave) {
    w_.heal_slaves();
    for (const auto& [other, end] : ends_)
      if (other != slave && kinds_[other] == 'x')
        w_.cut_slave(other);
  }

  world& w_;
  const world_parameters& p_;
  prng rng_;
  std::map<std::string, uint64_t> ends_;
  std::map<std::string, char> kinds_;
};

/// Phase 3: every slave fault ended, every node undrained; the cluster must settle.
void settle(world& w, int budget_steps) {
  w.events().add(w.now(), "slave faults end: every slave up, thawed and connected");
  w.heal_slaves();
  for (const auto& id : w.slave_ids()) {
    w.restart_slave(id);
    w.thaw_slave(id);
  }
  for (int i = 0; i < budget_steps; ++i) {
    if (w.settled())
      return;
    // Undrained once no request is outstanding: a drain still being retried would otherwise
    // land after the undrain, as two commands of one operator run at once would.
    if (w.clients_idle())
      for (const auto& id : w.drained_nodes())
        w.drain(0, id, false);
    w.step();
  }
  if (!w.settled())
    throw invariant_violation(fmt::format(
        "liveness: the cluster did not settle (every job ended, every request answered) within "
        "{} steps of the faults' end: {}",
        budget_steps, w.unsettled()));
}

/// What the settled run made of dependencies: a seed's line shows they were exercised.
void count_dependencies(const world& w, run_result& result) {
  const auto& masters = w.masters();
  masters.master(masters.leader()).state().for_each_job([&](const pb::Job& job) {
    if (job.spec().after_size() == 0)
      return;
    ++result.jobs_after;
    result.jobs_after_ran += job.attempts() > 0 ? 1 : 0;
    result.jobs_after_unmet += job.attempts() == 0 && job.state() == pb::JOB_FAILED ? 1 : 0;
  });
}

} // namespace

run_result run_world_seed(const run_options& options, std::ostream& out) {
  prng rng(options.seed);
  run_parameters p = draw_parameters(rng, options.masters);
  p.propose_probability = 0; // the world's clients submit, through the leader's scheduler
  // Its masters stay the same set (the raft runs change membership under faults).
  p.membership_probability = 0;
  p.initial_voters = options.masters;
  // A job lifecycle makes far more entries than the raft runs' clients: with a handful of entries
  // per append the log, not the lifecycle, is what a run would measure (random_run covers those).
  p.max_entries_per_message = std::max<size_t>(p.max_entries_per_message, 16);
  const auto wp = draw_world(rng);
  if (options.print_parameters)
    out << "parameters: masters=" << options.masters << " steps=" << options.steps << ' '
        << describe(p) << ' ' << describe(wp) << '\n';

  world_options wo;
  wo.masters.masters = options.masters;
  wo.masters.seed = rng.fork();
  wo.masters.election_ticks = p.election_ticks;
  wo.masters.heartbeat_ticks = p.heartbeat_ticks;
  wo.masters.snapshot_every_entries = p.snapshot_every;
  wo.masters.max_entries_per_message = p.max_entries_per_message;
  wo.masters.network = p.network;
  wo.masters.hint_on_crash = p.hint_probability;

  run_result result;
  result.parameters = describe(p) + ' ' + describe(wp);
  world w(wo);
  if (options.trace)
    w.events().echo_to(options.trace);
  for (size_t i = 0; i < w.masters().ids().size(); ++i)
    w.masters().set_tick_probability(w.masters().ids()[i], p.tick_probability[i]);
  fault_driver faults(w.masters(), p, rng.fork());
  world_driver slaves(w, wp, rng.fork());
  try {
    for (int i = 0; i < options.steps; ++i) {
      faults.before_step();
      slaves.before_step();
      w.step();
    }
    heal_and_require_progress(w.masters(), p, [&w] { w.step(); });
    settle(w, 8000);
    w.masters().check_states();
    w.check_end();
    count_dependencies(w, result);
  } catch (const std::exception& e) {
    result.ok = false;
    result.failure = e.what();
    result.step = w.now();
    std::ostringstream recent;
    w.events().dump(recent);
    result.recent = recent.str();
  }
  result.committed = w.masters().check().commit_index();
  result.elections = w.masters().check().leaders().size();
  result.messages = w.masters().net().stats().sent;
  result.jobs_run = w.check().spawns();
  result.stream_events = w.event_stream().seen().events;
  result.stream_moves = w.event_stream().seen().moves;
  result.stream_snapshots = w.event_stream().seen().snapshots;
  return result;
}

} // namespace claud::sim
