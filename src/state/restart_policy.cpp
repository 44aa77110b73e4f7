#include "state/restart_policy.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "state/job_states.hpp"

namespace claud::state {

int64_t backoff_ms(const pb::JobSpec& spec, uint32_t attempts) {
  const int64_t base
      = spec.backoff_base_ms() > 0 ? spec.backoff_base_ms() : default_backoff_base_ms;
  int64_t factor = 1;
  for (uint32_t i = 1; i < attempts && factor < max_backoff_factor; ++i)
    factor *= 2;
  return base * factor;
}

restart_decision decide_restart(const pb::Job& job, pb::JobState outcome, int64_t time_ms) {
  const auto& spec = job.spec();
  restart_decision decision;
  if (job.kill_requested())
    return decision;
  const bool wanted = (outcome == pb::JOB_FAILED && spec.restart() != pb::RESTART_NEVER)
                      || (outcome == pb::JOB_SUCCEEDED && spec.restart() == pb::RESTART_ALWAYS)
                      || (outcome == pb::JOB_LOST && !spec.fail_on_node_lost());
  if (!wanted)
    return decision;
  const auto limit = spec.max_attempts();
  if (limit != 0 && job.attempts() >= limit) {
    decision.reason = fmt::format("no attempts left ({} of {})", job.attempts(), limit);
    return decision;
  }
  decision.restart = true;
  const auto next = job.attempts() + 1;
  const auto of = limit == 0 ? std::string{} : fmt::format(" of {}", limit);
  if (outcome == pb::JOB_LOST) {
    // Its node died, not the job: run it again at once elsewhere.
    decision.not_before_ms = time_ms;
    decision.reason = fmt::format("rescheduled after its node was lost (attempt {}{})", next, of);
  } else {
    auto wait = backoff_ms(spec, job.attempts());
    decision.not_before_ms = time_ms + wait;
    decision.reason = fmt::format("restarting after it {} (attempt {}{}, after {:g} s)",
                                  outcome == pb::JOB_SUCCEEDED ? "ended" : "failed", next, of,
                                  static_cast<double>(wait) / 1000.0);
  }
  return decision;
}

} // namespace claud::state
