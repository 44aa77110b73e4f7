#include "lifecycle_checker.hpp"

#include <fmt/format.h>

#include "state/dependencies.hpp"
#include "state/job_states.hpp"
#include "world.hpp"

namespace claud::sim {

lifecycle_checker::lifecycle_checker(const lifecycle_timing& timing)
    // A slave's silence is noticed after its timeout; a new leader gives up the unregistered
    // after its grace; a slave finds a new leader within a few register attempts.
    : notice_window_steps_(
        static_cast<uint64_t>(std::max(timing.slave_timeout_steps, timing.registration_grace_steps)
                              + 4 * timing.register_timeout_steps + timing.ping_timeout_steps)) {}

void lifecycle_checker::on_spawn(const std::string& slave, const pb::Job& job) {
  if (!spawned_.insert({job.id(), job.attempts()}).second)
    throw invariant_violation(fmt::format("job {} attempt {} was spawned twice (again on {})",
                                          job.id(), job.attempts(), slave));
  spawned_keys_.insert(job.spec().idempotency_key());
  if (job.spec().restart() == pb::RESTART_NEVER && job.spec().fail_on_node_lost()
      && ++spawns_of_once_jobs_[job.id()] > 1)
    throw invariant_violation(
        fmt::format("job {} (restart never, fail on node lost) ran a second time, attempt {} on {}",
                    job.id(), job.attempts(), slave));
}

void lifecycle_checker::on_refused_registration(const std::string& slave,
                                                const std::string& reason) {
  throw invariant_violation(
      fmt::format("slave {} was refused registration under its own identity: {}", slave, reason));
}

void lifecycle_checker::on_fault(const std::string& slave, uint64_t now) {
  last_fault_[slave] = now;
}

void lifecycle_checker::on_proposed(const world& w, const std::string& proposer,
                                    const pb::LogEntry& entry) {
  if (!entry.has_node_lost())
    return;
  ++slaves_lost_;
  // A deposed leader cut off from the cluster, not told yet, stops hearing the slaves that went
  // to the newer leader: the fault that isolates it explains the loss it proposes, which the
  // newer term's log overrides.
  if (w.masters().leader() != proposer)
    return;
  const auto& id = entry.node_lost().node_id();
  const auto& s = w.slave(id);
  if (!s.up() || s.frozen() || w.slave_cut_off(id))
    return; // a fault touches it now
  auto fault = last_fault_.find(id);
  if (fault == last_fault_.end() || fault->second + notice_window_steps_ < w.now())
    throw invariant_violation(
        fmt::format("slave {} is given up (\"{}\") though no fault touched it in the last {} steps",
                    id, entry.node_lost().reason(), notice_window_steps_));
}

void lifecycle_checker::check_attempts(const world& w, const state::cluster_state& state) {
  std::map<std::string, int> current; // job -> live processes of its current attempt
  std::map<std::string, int> orphans;
  std::set<std::pair<std::string, int64_t>> stale_now;
  for (const auto& id : w.slave_ids()) {
    const auto& s = w.slave(id);
    if (!s.up() || s.frozen())
      continue;
    for (const auto& [pid, p] : s.processes()) {
      if (!p.alive || p.signalled)
        continue;
      if (!p.supervised) {
        ++orphans[p.job_id];
        continue;
      }
      auto job = state.find_job(p.job_id);
      bool is_current = job && job->attempts() == p.attempt && job->node_id() == id;
      if (is_current) {
        ++current[p.job_id];
        continue;
      }
      // An attempt the leader gave up (lost with its slave while that was cut off or frozen):
      // once its slave is back with a leader, reconciliation must stop it within the time a
      // registration takes.
      if (!w.slave_cut_off(id) && s.registered()) {
        stale_now.insert({id, pid});
        auto [since, fresh] = stale_since_.emplace(std::make_pair(id, pid), w.now());
        if (w.now() - since->second > notice_window_steps_)
          throw invariant_violation(fmt::format(
              "job {} attempt {} still runs unstopped on {} {} steps after its slave is back, "
              "though the leader gave it up",
              p.job_id, p.attempt, id, w.now() - since->second));
      }
    }
  }
  for (auto i = stale_since_.begin(); i != stale_since_.end();)
    i = stale_now.count(i->first) ? std::next(i) : stale_since_.erase(i);
  for (const auto& [job, count] : current)
    if (count > 1)
      throw invariant_violation(
          fmt::format("job {} runs its current attempt {} times at once", job, count));
  for (const auto& [job, count] : orphans)
    if (current.count(job))
      ++orphan_overlaps_;
}

void lifecycle_checker::check_dependencies(const state::cluster_state& state, const pb::Job& job) {
  if (job.spec().after_size() == 0 || job.state() == pb::JOB_PENDING)
    return;
  if (job.waits_for_size() > 0)
    throw invariant_violation(fmt::format("job {} is {} but still waits for job {}", job.id(),
                                          state::job_state_name(job.state()), job.waits_for(0)));
  bool all_met = true;
  for (const auto& dependency : job.spec().after()) {
    auto named = state.find_job(dependency.job_id());
    if (!named) // retention took it after it ended
      continue;
    if (!state::is_terminal(named->state()))
      throw invariant_violation(fmt::format("job {} is {} before job {} it waits for has ended",
                                            job.id(), state::job_state_name(job.state()),
                                            named->id()));
    all_met = all_met
              && state::judge_dependency(dependency.condition(), named->state())
                     == state::dependency_verdict::met;
  }
  if (job.attempts() > 0 && !all_met)
    throw invariant_violation(
        fmt::format("job {} ran though a job it waits for did not end as it asked", job.id()));
  if (job.attempts() == 0 && all_met && job.state() == pb::JOB_FAILED)
    throw invariant_violation(
        fmt::format("job {} failed without running though its dependencies were met: {}", job.id(),
                    job.reason()));
}

void lifecycle_checker::check_step(const world& w) {
  auto leader = w.masters().leader();
  if (leader.empty())
    return;
  const auto& state = w.masters().master(leader).state();
  check_attempts(w, state);
  for (const auto& [id, job] : state.live_jobs())
    check_dependencies(state, job);
  // Capacity, in the leader's state (every master applies the same entries).
  for (const auto& [node_id, node] : state.nodes())
    if (node.cpu_millis_used() > node.cpu_millis_total()
        || node.memory_bytes_used() > node.memory_bytes_total())
      throw invariant_violation(
          fmt::format("{}'s state has node {} over its capacity: {}/{} CPU millis, {}/{} bytes",
                      leader, node_id, node.cpu_millis_used(), node.cpu_millis_total(),
                      node.memory_bytes_used(), node.memory_bytes_total()));
}

void lifecycle_checker::check_end(const world& w) const {
  const auto& masters = w.masters();
  const auto& state = masters.master(masters.leader()).state();
  std::map<std::string, std::string> job_of_key;
  state.for_each_job([&](const pb::Job& job) {
    const auto& id = job.id();
    const auto& key = job.spec().idempotency_key();
    if (!job_of_key.emplace(key, id).second)
      throw invariant_violation(
          fmt::format("two jobs ({} and {}) for the one submission {}", job_of_key[key], id, key));
    if (!state::is_terminal(job.state()))
      throw invariant_violation(fmt::format("job {} has not ended once faults stopped: {}", id,
                                            pb::JobState_Name(job.state())));
    check_dependencies(state, job);
  });
  for (size_t c = 0; c < w.clients(); ++c) {
    const auto& client = w.client(c);
    for (const auto& [key, job_id] : client.acknowledged()) {
      auto known = job_of_key.find(key);
      if (known == job_of_key.end())
        throw invariant_violation(
            fmt::format("acknowledged submission {} (job {}) is not in the state", key, job_id));
      if (known->second != job_id)
        throw invariant_violation(
            fmt::format("submission {} was acknowledged as job {}, but the state made it job {}",
                        key, job_id, known->second));
    }
    for (const auto& key : client.refused())
      if (spawned_keys_.count(key))
        throw invariant_violation(fmt::format("refused submission {} ran", key));
  }
}

} // namespace claud::sim
