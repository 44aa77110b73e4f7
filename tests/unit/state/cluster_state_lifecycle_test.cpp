// cluster_state over a job's whole life: restarts by policy with their history, rescheduling after
// a node's loss, the bounded history, draining (with migration) and retention of ended jobs.
#include "state/cluster_state.hpp"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "entries.hpp"

using namespace claud;
using namespace claud::state::test;
using strings = std::vector<std::string>;

TEST_CASE("a failed job with a restart policy goes back to pending, and its history tells why") {
  replica r;
  r.apply(registered("a", 2000, 4 * gib));
  auto s = spec(1000, gib);
  s.set_restart(pb::RESTART_ON_FAILURE);
  s.set_max_attempts(2);
  s.set_backoff_base_ms(250);
  r.apply(submitted(s));
  REQUIRE(r.apply(placed("1", "a")).applied);
  REQUIRE(r.apply(started("1", "a", 1)).applied);
  auto result = r.apply(exited("1", "a", 1, 3));
  CHECK(result.applied);
  const auto& job = r.job("1");
  CHECK(job.state() == pb::JOB_PENDING);
  CHECK(job.node_id().empty());
  CHECK(job.not_before_ms() == job.finished_at_ms() + 250);
  CHECK(job.reason() == "restarting after it failed (attempt 2 of 2, after 0.25 s)");
  CHECK(r.node("a").cpu_millis_used() == 0);
  std::vector<pb::JobState> steps;
  for (const auto& event : job.history())
    steps.push_back(event.state());
  CHECK(steps
        == std::vector<pb::JobState>{pb::JOB_PENDING, pb::JOB_PLACED, pb::JOB_RUNNING,
                                     pb::JOB_FAILED, pb::JOB_PENDING});
  CHECK(job.history(3).exit_code() == 3);
  CHECK(job.history(3).node_id() == "a");

  // The second attempt is the last: its failure ends the job, saying so.
  REQUIRE(r.apply(placed("1", "a")).applied);
  CHECK(r.job("1").not_before_ms() == 0);
  REQUIRE(r.apply(exited("1", "a", 2, 3)).applied);
  CHECK(r.job("1").state() == pb::JOB_FAILED);
  CHECK(r.job("1").reason() == "no attempts left (2 of 2)");
}

TEST_CASE("a job lost with its node is rescheduled by default") {
  replica r;
  r.apply(registered("a", 2000, 4 * gib));
  auto s = spec(1000, gib);
  s.set_fail_on_node_lost(false);
  r.apply(submitted(s));
  REQUIRE(r.apply(placed("1", "a")).applied);
  REQUIRE(r.apply(started("1", "a", 1)).applied);
  r.apply(node_lost("a", "its connection closed"));
  CHECK(r.job("1").state() == pb::JOB_PENDING);
  CHECK(r.job("1").reason() == "rescheduled after its node was lost (attempt 2)");
  const auto job = r.job("1");
  const auto& lost = job.history(job.history_size() - 2);
  CHECK(lost.state() == pb::JOB_LOST);
  CHECK(lost.reason() == "node a was lost: its connection closed");
}

TEST_CASE("a job keeps only its last events") {
  replica r;
  r.apply(registered("a", 2000, 4 * gib));
  auto s = spec(1000, gib);
  s.set_restart(pb::RESTART_ALWAYS);
  s.set_max_attempts(0);
  r.apply(submitted(s));
  for (uint32_t attempt = 1; attempt <= 10; ++attempt) {
    REQUIRE(r.apply(placed("1", "a")).applied);
    REQUIRE(r.apply(exited("1", "a", attempt, 0)).applied);
  }
  const auto job = r.job("1");
  const auto& history = job.history();
  CHECK(static_cast<size_t>(history.size()) == state::cluster_state::max_history_events);
  CHECK(history.rbegin()->state() == pb::JOB_PENDING);
  CHECK(history.rbegin()->attempt() == 10);
}

TEST_CASE("a drained node takes no placements, keeps its drain across restarts, and can migrate") {
  replica r;
  r.apply(registered("a", 2000, 4 * gib));
  r.apply(registered("b", 2000, 4 * gib));
  auto s = spec(1000, gib);
  s.set_fail_on_node_lost(false);
  r.apply(submitted(s));
  r.apply(submitted(s));
  REQUIRE(r.apply(placed("1", "a")).applied);
  REQUIRE(r.apply(started("1", "a", 1)).applied);

  pb::LogEntry drain;
  drain.mutable_node_drain()->set_node_id("a");
  drain.mutable_node_drain()->set_draining(true);
  auto result = r.apply(drain);
  CHECK(result.applied);
  CHECK(result.changed_jobs.empty()); // without migrate, running jobs stay
  CHECK(r.job("1").state() == pb::JOB_RUNNING);
  CHECK(r.apply(placed("2", "a")).error == "node a is drained");
  r.apply(registered("a", 2000, 4 * gib)); // the slave restarted and registered again
  CHECK(r.node("a").draining());

  drain.mutable_node_drain()->set_migrate(true);
  result = r.apply(drain);
  CHECK(result.changed_jobs == strings{"1"});
  CHECK(r.job("1").state() == pb::JOB_PENDING);
  CHECK(r.node("a").cpu_millis_used() == 0);
  const auto job = r.job("1");
  const auto& moved = job.history(job.history_size() - 2);
  CHECK(moved.state() == pb::JOB_LOST);
  CHECK(moved.reason() == "moved off node a, which is drained");

  drain.mutable_node_drain()->set_draining(false);
  drain.mutable_node_drain()->set_migrate(false);
  REQUIRE(r.apply(drain).applied);
  CHECK(r.apply(placed("2", "a")).applied);
  pb::LogEntry unknown;
  unknown.mutable_node_drain()->set_node_id("zz");
  CHECK(r.apply(unknown).error == "no node zz that runs jobs");
}

TEST_CASE("retention drops jobs that ended before the cutoff, and only those") {
  replica r;
  r.apply(registered("a", 4000, 4 * gib));
  for (int i = 0; i < 3; ++i)
    r.apply(submitted(spec(1000, gib)));
  REQUIRE(r.apply(placed("1", "a")).applied);
  REQUIRE(r.apply(exited("1", "a", 1, 0)).applied); // ended early
  REQUIRE(r.apply(placed("2", "a")).applied);       // still placed
  const auto ended_at = r.job("1").finished_at_ms();
  pb::LogEntry expire;
  expire.mutable_jobs_expired()->set_finished_before_ms(ended_at + 1);
  CHECK(r.apply(expire).applied);
  CHECK_FALSE(r.state.find_job("1"));
  CHECK(r.state.find_job("2"));
  CHECK(r.state.find_job("3"));
  expire.mutable_jobs_expired()->set_finished_before_ms(ended_at);
  CHECK(r.apply(expire).applied); // nothing left to drop
  CHECK(r.state.job_count() == 2);
}
