// The state machine's side of job dependencies (submit --after): who waits for whom, and what
// each end tells the jobs waiting (state/dependencies.hpp holds the rules).
#include <algorithm>

#include <fmt/format.h>

#include "state/cluster_state.hpp"
#include "state/dependencies.hpp"
#include "state/job_states.hpp"

namespace claud::state {

std::string cluster_state::unknown_dependency(const pb::JobSpec& spec) const {
  for (const auto& dependency : spec.after()) {
    const auto& id = dependency.job_id();
    if (find_live_job(id) == nullptr && !ended_.find(id))
      return fmt::format("--after {}: the cluster holds no job {} (only jobs `claud jobs` lists "
                         "can be waited for)",
                         id, id);
  }
  return {};
}

void cluster_state::wait_for_dependencies(pb::Job& job, int64_t time_ms) {
  std::string never_met;
  for (const auto& dependency : job.spec().after()) {
    const auto& id = dependency.job_id();
    if (find_live_job(id) != nullptr) {
      job.add_waits_for(id);
      dependents_[id].push_back(job.id());
      continue;
    }
    const auto ended = find_job(id)->state(); // unknown_dependency() made sure it is held
    if (never_met.empty()
        && judge_dependency(dependency.condition(), ended) == dependency_verdict::never_met)
      never_met = never_met_reason(job, id, ended);
  }
  if (!never_met.empty())
    fail_unstarted(job, never_met, time_ms);
}

void cluster_state::settle_dependents(apply_result& result, int64_t time_ms) {
  // Indexes, not iterators: the jobs told are appended, so their own waiting jobs are told too.
  for (size_t i = 0; i < result.changed_jobs.size(); ++i) {
    const std::string id = result.changed_jobs[i];
    pb::Job* job = live_job(id);
    if (job == nullptr || !is_terminal(job->state()))
      continue;
    stop_waiting(*job);
    auto waiting = dependents_.find(id);
    if (waiting == dependents_.end())
      continue;
    const auto ended = job->state();
    const auto dependents = std::move(waiting->second);
    dependents_.erase(waiting);
    for (const auto& dependent_id : dependents) {
      pb::Job* dependent = live_job(dependent_id);
      if (dependent == nullptr) // a job waiting is pending, so live: no entry can break that
        throw std::logic_error(
            fmt::format("job {} waits for {} but is not live", dependent_id, id));
      auto& waits = *dependent->mutable_waits_for();
      waits.erase(std::remove(waits.begin(), waits.end(), id), waits.end());
      const auto condition
          = std::find_if(dependent->spec().after().begin(), dependent->spec().after().end(),
                         [&](const pb::Dependency& d) { return d.job_id() == id; });
      if (judge_dependency(condition->condition(), ended) == dependency_verdict::never_met)
        fail_unstarted(*dependent, never_met_reason(*dependent, id, ended), time_ms);
      else if (waits.empty() && is_task_job(*dependent))
        open_slots(*dependent, time_ms, result); // its waiting is over: its slots are placed
      result.changed_jobs.push_back(dependent_id);
    }
  }
}

void cluster_state::stop_waiting(pb::Job& job) {
  for (const auto& id : job.waits_for()) {
    auto waiting = dependents_.find(id);
    if (waiting == dependents_.end())
      continue;
    auto& ids = waiting->second;
    ids.erase(std::remove(ids.begin(), ids.end(), job.id()), ids.end());
    if (ids.empty())
      dependents_.erase(waiting);
  }
  job.clear_waits_for();
}

void cluster_state::fail_unstarted(pb::Job& job, const std::string& reason, int64_t time_ms) {
  stop_waiting(job);
  job.set_state(pb::JOB_FAILED);
  job.set_reason(reason);
  job.set_finished_at_ms(time_ms);
  record_event(job, time_ms);
}

} // namespace claud::state
