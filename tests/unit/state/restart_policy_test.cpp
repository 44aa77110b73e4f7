// When an ended attempt runs again: by policy after a failure or a success, at once elsewhere after
// its node was lost, never after a user's kill, and never beyond max_attempts; with a backoff that
// doubles and stops growing at 64 times its base.

#include <catch2/catch.hpp>

#include "state/restart_policy.hpp"

using namespace claud;
using state::decide_restart;

namespace {

constexpr int64_t now = 1'000'000;

pb::Job job_after(uint32_t attempts, pb::RestartPolicy policy, uint32_t max_attempts = 3) {
  pb::Job job;
  job.set_id("7");
  job.set_attempts(attempts);
  job.mutable_spec()->set_restart(policy);
  job.mutable_spec()->set_max_attempts(max_attempts);
  job.mutable_spec()->set_backoff_base_ms(500);
  return job;
}

} // namespace

TEST_CASE("the policy decides which outcomes run again") {
  using row = std::tuple<pb::RestartPolicy, pb::JobState, bool>;
  for (auto [policy, outcome, restarts] : {
           row{pb::RESTART_NEVER, pb::JOB_FAILED, false},
           row{pb::RESTART_NEVER, pb::JOB_SUCCEEDED, false},
           row{pb::RESTART_ON_FAILURE, pb::JOB_FAILED, true},
           row{pb::RESTART_ON_FAILURE, pb::JOB_SUCCEEDED, false},
           row{pb::RESTART_ALWAYS, pb::JOB_FAILED, true},
           row{pb::RESTART_ALWAYS, pb::JOB_SUCCEEDED, true},
           row{pb::RESTART_NEVER, pb::JOB_LOST, true}, // a node's death is not the job's failure
       }) {
    INFO("policy " << policy << ", outcome " << outcome);
    auto decision = decide_restart(job_after(1, policy), outcome, now);
    CHECK(decision.restart == restarts);
  }
}

TEST_CASE("a lost job runs again at once unless it asked to fail with its node") {
  auto job = job_after(1, pb::RESTART_NEVER);
  auto decision = decide_restart(job, pb::JOB_LOST, now);
  CHECK(decision.restart);
  CHECK(decision.not_before_ms == now);
  CHECK(decision.reason == "rescheduled after its node was lost (attempt 2 of 3)");
  job.mutable_spec()->set_fail_on_node_lost(true);
  CHECK_FALSE(decide_restart(job, pb::JOB_LOST, now).restart);
}

TEST_CASE("a killed job never runs again") {
  auto job = job_after(1, pb::RESTART_ALWAYS);
  job.set_kill_requested(true);
  CHECK_FALSE(decide_restart(job, pb::JOB_FAILED, now).restart);
  CHECK_FALSE(decide_restart(job, pb::JOB_LOST, now).restart);
}

TEST_CASE("max_attempts bounds every kind of rerun; 0 means no limit") {
  auto last = decide_restart(job_after(3, pb::RESTART_ON_FAILURE), pb::JOB_FAILED, now);
  CHECK_FALSE(last.restart);
  CHECK(last.reason == "no attempts left (3 of 3)");
  CHECK_FALSE(decide_restart(job_after(3, pb::RESTART_NEVER), pb::JOB_LOST, now).restart);
  CHECK(decide_restart(job_after(500, pb::RESTART_ALWAYS, 0), pb::JOB_SUCCEEDED, now).restart);
}

TEST_CASE("restarts back off exponentially up to 64 times the base") {
  pb::JobSpec spec;
  spec.set_backoff_base_ms(500);
  CHECK(state::backoff_ms(spec, 1) == 500);
  CHECK(state::backoff_ms(spec, 2) == 1000);
  CHECK(state::backoff_ms(spec, 3) == 2000);
  CHECK(state::backoff_ms(spec, 6) == 16000);
  CHECK(state::backoff_ms(spec, 7) == 500 * 64);
  CHECK(state::backoff_ms(spec, 40) == 500 * 64);
  spec.set_backoff_base_ms(0);
  CHECK(state::backoff_ms(spec, 1) == state::default_backoff_base_ms);

  auto decision = decide_restart(job_after(2, pb::RESTART_ON_FAILURE), pb::JOB_FAILED, now);
  CHECK(decision.not_before_ms == now + 1000);
  CHECK(decision.reason == "restarting after it failed (attempt 3 of 3, after 1 s)");
}
