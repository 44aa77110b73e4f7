// reconcile: what a registering slave reports against the committed jobs on it; report entries;
// the nodes a new leader gives up after its grace.
#include "sched/reconcile.hpp"

#include <catch2/catch.hpp>

using namespace claud;

namespace {

pb::Job job(const std::string& id, const std::string& node_id, pb::JobState state,
            uint32_t attempt) {
  pb::Job j;
  j.set_id(id);
  j.set_node_id(node_id);
  j.set_state(state);
  j.set_attempts(attempt);
  return j;
}

pb::JobReport report(const std::string& id, uint32_t attempt, bool running) {
  pb::JobReport r;
  r.set_job_id(id);
  r.set_attempt(attempt);
  r.set_running(running);
  return r;
}

} // namespace

TEST_CASE("reconciliation starts, confirms, loses and stops what disagrees") {
  pb::JobList jobs;
  *jobs.add_jobs() = job("1", "a", pb::JOB_PLACED, 1);  // reported running: started
  *jobs.add_jobs() = job("2", "a", pb::JOB_PLACED, 1);  // not reported: start it
  *jobs.add_jobs() = job("3", "a", pb::JOB_RUNNING, 2); // not reported: it restarted, lost
  *jobs.add_jobs() = job("4", "b", pb::JOB_RUNNING, 1); // another node's
  *jobs.add_jobs() = job("5", "a", pb::JOB_RUNNING, 3); // reported as attempt 2: stop that one
  *jobs.add_jobs() = job("6", "a", pb::JOB_SUCCEEDED, 1);
  pb::SlaveReport slave;
  *slave.add_jobs() = report("1", 1, true);
  *slave.add_jobs() = report("5", 2, true);
  *slave.add_jobs() = report("5", 3, true);
  *slave.add_jobs() = report("6", 1, true);  // ended in the state: no decision explains it
  *slave.add_jobs() = report("7", 1, false); // ended and unknown: nothing to stop

  auto plan = sched::reconcile("a", slave, jobs);
  REQUIRE(plan.proposals.size() == 2);
  CHECK(plan.proposals[0].job_started().job_id() == "1");
  CHECK(plan.proposals[1].job_lost().job_id() == "3");
  REQUIRE(plan.starts.size() == 1);
  CHECK(plan.starts[0].id() == "2");
  REQUIRE(plan.kills.size() == 2);
  CHECK((plan.kills[0].job_id == "5" && plan.kills[0].attempt == 2));
  CHECK(plan.kills[1].job_id == "6");
  REQUIRE(plan.given_up.size() == 1); // lost, and stopped in case the report was behind
  CHECK((plan.given_up[0].job_id == "3" && plan.given_up[0].attempt == 2));
}

TEST_CASE("a start told after the report was made is neither lost nor sent again") {
  pb::JobList jobs;
  *jobs.add_jobs() = job("1", "a", pb::JOB_RUNNING, 1); // started after the report was made
  *jobs.add_jobs() = job("2", "a", pb::JOB_PLACED, 1);  // its start on its way
  *jobs.add_jobs() = job("3", "a", pb::JOB_RUNNING, 1); // told before: really gone
  pb::SlaveReport empty;
  auto plan = sched::reconcile("a", empty, jobs, {{"1", 1}, {"2", 1}});
  REQUIRE(plan.proposals.size() == 1);
  CHECK(plan.proposals[0].job_lost().job_id() == "3");
  CHECK(plan.starts.empty());
}

TEST_CASE("an exit report carries its code, signal, reason and how long it ran") {
  auto r = report("9", 2, false);
  r.set_has_exit_code(true);
  r.set_exit_code(3);
  r.set_reason("why");
  r.set_started_at_ms(1000);
  r.set_finished_at_ms(1500);
  auto entry = sched::entry_from_report("s1", r);
  REQUIRE(entry.has_job_finished());
  CHECK(entry.job_finished().node_id() == "s1");
  CHECK(entry.job_finished().exit_code() == 3);
  CHECK(entry.job_finished().reason() == "why");
  CHECK(entry.job_finished().ran_for_ms() == 500);
  CHECK(entry.job_finished().started());
  CHECK(sched::entry_from_report("s1", report("9", 2, true)).has_job_started());
}

TEST_CASE("after the grace, alive job-running nodes that did not register are lost") {
  pb::NodeList nodes;
  auto add = [&](const std::string& id, pb::NodeRole role, pb::NodeState state) {
    auto* n = nodes.add_nodes();
    n->set_id(id);
    n->set_role(role);
    n->set_state(state);
  };
  add("a", pb::ROLE_SLAVE, pb::NODE_ALIVE);
  add("b", pb::ROLE_SLAVE, pb::NODE_ALIVE);
  add("c", pb::ROLE_SLAVE, pb::NODE_DOWN);
  add("m", pb::ROLE_MASTER, pb::NODE_ALIVE);
  auto lost = sched::lost_after_grace(
      nodes, [](const std::string& id) { return id == "b"; }, 5000);
  REQUIRE(lost.size() == 1);
  CHECK(lost[0].node_lost().node_id() == "a");
  CHECK(lost[0].node_lost().reason().find("5000 ms") != std::string::npos);
}
