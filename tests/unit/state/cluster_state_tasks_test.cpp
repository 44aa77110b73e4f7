// cluster_state with jobs of many tasks: the slots it makes (after the job's dependencies), the
// hand-outs and ends of TaskReports entries, a lost slot's tasks sent again, the job's end every
// way (all done, a task out of tries, killed, no slot left), the events, and a snapshot.
#include <catch2/catch.hpp>

#include <algorithm>
#include <string>
#include <vector>

#include "entries.hpp"
#include "state/cluster_state.hpp"
#include "state/events.hpp"
#include "state/job_states.hpp"

using namespace claud;
using namespace claud::state;
using namespace claud::state::test;

namespace {

pb::JobSpec tasks(uint32_t count, uint32_t parallel, uint32_t attempts = 0) {
  auto s = spec(500, gib, "render");
  s.set_task_count(count);
  s.set_task_parallel(parallel);
  s.set_task_attempts(attempts);
  return s;
}

/// A slot's report: the end of the task it ran (if `index` >= 0), and a pull.
pb::TaskReport report(const replica& r, const std::string& slot, int index = -1, int code = 0,
                      bool pull = true) {
  const auto job = r.job(slot);
  pb::TaskReport out;
  out.set_slot_job_id(slot);
  out.set_node_id(job.node_id());
  out.set_slot_attempt(job.attempts());
  if (index >= 0) {
    const auto parent = r.job(job.slot_of());
    out.set_has_ended(true);
    out.set_index(static_cast<uint32_t>(index));
    uint32_t attempt = 0;
    for (const auto& o : parent.tasks().out())
      if (o.index() == static_cast<uint32_t>(index))
        attempt = o.attempt();
    out.set_attempt(attempt);
    out.set_succeeded(code == 0);
    out.set_has_exit_code(true);
    out.set_exit_code(code);
  }
  out.set_pull(pull);
  return out;
}

pb::LogEntry reports(std::vector<pb::TaskReport> list) {
  pb::LogEntry e;
  for (auto& one : list)
    *e.mutable_task_reports()->add_reports() = std::move(one);
  return e;
}

/// The task the slot runs, or -1.
int task_on(const replica& r, const std::string& parent, const std::string& slot) {
  const auto job = r.job(slot);
  const uint64_t key = uint64_t{job.slot()} << 32 | job.attempts();
  const auto job_of_tasks = r.job(parent); // kept: a loop over a temporary's field dangles
  for (const auto& o : job_of_tasks.tasks().out())
    if (o.slot() == key)
      return static_cast<int>(o.index());
  return -1;
}

/// Slave "a" (4 CPUs), job 1 of `count` tasks with `parallel` slots, each slot placed on "a".
replica with_task_job(uint32_t count, uint32_t parallel, uint32_t attempts = 0) {
  replica r;
  r.apply(registered("a", 4000, 16 * gib));
  auto submission = r.apply(submitted(tasks(count, parallel, attempts)));
  REQUIRE(submission.applied);
  for (uint32_t k = 1; k <= parallel; ++k)
    REQUIRE(r.apply(placed(slot_id("1", k), "a")).applied);
  return r;
}

std::vector<std::string> kinds(const std::vector<pb::Event>& events) {
  std::vector<std::string> out;
  for (const auto& e : events)
    out.push_back(event_kind_name(e.kind()) + " " + e.job_id());
  return out;
}

pb::LogEntry at(pb::LogEntry e, const replica& r) { // as replica::apply will number it
  e.set_index(r.next_index);
  e.set_time_ms(static_cast<int64_t>(1000 * r.next_index));
  return e;
}

} // namespace

TEST_CASE("a job of many tasks makes its slots, which are placed; it is not") {
  replica r;
  r.apply(registered("a", 4000, 16 * gib));
  auto result = r.apply(submitted(tasks(10, 3)));
  REQUIRE(result.applied);
  CHECK(result.changed_jobs == std::vector<std::string>{"1", "1.s1", "1.s2", "1.s3"});
  CHECK(r.job("1").slot_count() == 3);
  CHECK(r.job("1.s2").slot_of() == "1");
  CHECK(r.job("1.s2").state() == pb::JOB_PENDING);
  CHECK(r.job("1.s2").spec().task_count() == 0);
  auto refused = r.apply(placed("1", "a"));
  CHECK_FALSE(refused.applied);
  CHECK(refused.error == "job 1 is a job of many tasks: its task slots are placed");
  CHECK(r.state.pending_view().jobs().count("1.s3") == 1);
  CHECK(task_slots_for(tasks(10, 0)) == 10);
  CHECK(task_slots_for(tasks(100000, 0)) == max_task_slots);
  CHECK(job_id_less("1.s2", "1.s10"));
  CHECK(job_id_less("1", "1.s1"));
  CHECK(job_id_less("1.s300", "2"));
}

TEST_CASE("free slots pull the tasks in order; the job runs from the first and ends at the last") {
  auto r = with_task_job(4, 2);
  REQUIRE(r.apply(reports({report(r, "1.s1"), report(r, "1.s2")})).applied);
  CHECK(r.job("1").state() == pb::JOB_RUNNING);
  CHECK(r.job("1.s1").state() == pb::JOB_RUNNING); // its first pull says it runs
  CHECK(task_on(r, "1", "1.s1") == 0);
  CHECK(task_on(r, "1", "1.s2") == 1);
  REQUIRE(r.apply(reports({report(r, "1.s1", 0), report(r, "1.s2", 1)})).applied);
  CHECK(task_on(r, "1", "1.s1") == 2);
  CHECK(r.job("1").tasks().done_count() == 2);
  // Slot 2 finds nothing left: it ends, and gives its resources back.
  REQUIRE(r.apply(reports({report(r, "1.s2", 3)})).applied);
  CHECK(r.job("1.s2").state() == pb::JOB_SUCCEEDED);
  CHECK(r.node("a").cpu_millis_used() == 500);
  REQUIRE(r.apply(reports({report(r, "1.s1", 2)})).applied);
  CHECK(r.job("1").state() == pb::JOB_SUCCEEDED);
  CHECK(r.job("1").exit_code() == 0);
  CHECK(r.job("1.s1").kill_requested()); // running: its slave stops it
  REQUIRE(r.apply(exited("1.s1", "a", 1, 0)).applied);
  CHECK(r.node("a").cpu_millis_used() == 0);
}

TEST_CASE("a task that fails goes again; at its last try the job fails, saying where to look") {
  auto r = with_task_job(3, 1, 2);
  r.apply(reports({report(r, "1.s1")}));
  r.apply(reports({report(r, "1.s1", 0, 3)}));
  CHECK(task_on(r, "1", "1.s1") == 0); // again, before task 1
  CHECK(r.job("1").tasks().retried() == 1);
  r.apply(reports({report(r, "1.s1", 0, 4)}));
  const auto job = r.job("1");
  CHECK(job.state() == pb::JOB_FAILED);
  CHECK(job.exit_code() == 4);
  CHECK(
      job.reason()
      == "task 0 failed on its last try (2 of 2): exit code 4; its output: claud logs 1 --task 0");
  CHECK(r.job("1.s1").kill_requested());
}

TEST_CASE("a slot lost with its node: its task goes again, and so does the slot") {
  auto r = with_task_job(3, 2);
  r.apply(registered("b", 4000, 16 * gib));
  r.apply(reports({report(r, "1.s1"), report(r, "1.s2")}));
  REQUIRE(r.apply(node_lost("a", "no heartbeat")).applied);
  const auto slot = r.job("1.s1");
  CHECK(slot.state() == pb::JOB_PENDING);
  CHECK(slot.attempts() == 1);
  const auto parent = r.job("1");
  CHECK(parent.state() == pb::JOB_RUNNING);
  CHECK(parent.tasks().out_size() == 0);
  CHECK(parent.tasks().requeued_size() == 2);
  REQUIRE(r.apply(placed("1.s1", "b")).applied);
  r.apply(reports({report(r, "1.s1")}));
  CHECK(task_on(r, "1", "1.s1") == 0);
  CHECK(r.job("1").tasks().out(0).attempt() == 2);
  // A report of the old attempt, late: its success stands (task 1 will not run again).
  pb::TaskReport late;
  late.set_slot_job_id("1.s2");
  late.set_node_id("a");
  late.set_slot_attempt(1);
  late.set_has_ended(true);
  late.set_index(1);
  late.set_attempt(1);
  late.set_succeeded(true);
  r.apply(reports({late}));
  CHECK(r.job("1").tasks().done_count() == 1);
  CHECK(r.job("1").tasks().requeued_size() == 0);
}

TEST_CASE("a slot whose process fails before it takes a task ends; with none left, the job fails") {
  auto r = with_task_job(3, 1);
  REQUIRE(r.apply(ended("1.s1", "a", 1, 0, "cannot start: no such user")).applied);
  CHECK(r.job("1.s1").state() == pb::JOB_FAILED);
  const auto job = r.job("1");
  CHECK(job.state() == pb::JOB_FAILED);
  CHECK(job.reason() == "every task slot ended with 0 of 3 tasks done");
}

TEST_CASE("killing a job of many tasks ends it at once and stops its slots") {
  auto r = with_task_job(5, 2);
  r.apply(submitted(tasks(5, 0))); // job 2: 5 slots, none placed
  r.apply(reports({report(r, "1.s1")}));
  REQUIRE(r.apply(kill("1")).applied);
  CHECK(r.job("1").state() == pb::JOB_KILLED);
  CHECK(r.job("1.s1").kill_requested());
  REQUIRE(r.apply(kill("2")).applied);
  CHECK(r.job("2.s4").state() == pb::JOB_KILLED); // pending: at once
  // Reports after the end change nothing.
  auto after = r.apply(reports({report(r, "1.s1", 0)}));
  CHECK(after.changed_jobs.empty());
}

TEST_CASE("a job of many tasks waits for its dependencies before it makes slots") {
  replica r;
  r.apply(registered("a", 4000, 16 * gib));
  r.apply(submitted(spec(500, gib))); // 1
  auto s = tasks(2, 1);
  s.add_after()->set_job_id("1");
  r.apply(submitted(s)); // 2
  CHECK(r.job("2").slot_count() == 0);
  CHECK_FALSE(r.state.find_job("2.s1"));
  r.apply(placed("1", "a"));
  r.apply(exited("1", "a", 1, 0));
  CHECK(r.job("2").slot_count() == 1);
  CHECK(r.job("2.s1").state() == pb::JOB_PENDING);
}

TEST_CASE("events: the job's start and end once, progress at each quarter, no noise per task") {
  auto r = with_task_job(4, 1);
  auto first = at(reports({report(r, "1.s1")}), r);
  auto result = r.state.apply(first);
  ++r.next_index;
  CHECK(kinds(events_of(first, result, r.state))
        == std::vector<std::string>{"job-started 1.s1", "job-started 1"});
  auto next = at(reports({report(r, "1.s1", 0)}), r);
  result = r.state.apply(next);
  ++r.next_index;
  auto events = events_of(next, result, r.state);
  REQUIRE(kinds(events) == std::vector<std::string>{"job-progress 1"});
  CHECK(events[0].percent() == 25);
  CHECK(events[0].tasks_done() == 1);
  CHECK(events[0].tasks_count() == 4);
  r.apply(reports({report(r, "1.s1", 1)}));
  r.apply(reports({report(r, "1.s1", 2)}));
  auto last = at(reports({report(r, "1.s1", 3)}), r);
  result = r.state.apply(last);
  CHECK(kinds(events_of(last, result, r.state))
        == std::vector<std::string>{"job-progress 1", "job-ended 1"});
}

TEST_CASE("a snapshot holds the tasks' progress and the slots") {
  auto r = with_task_job(6, 2);
  r.apply(reports({report(r, "1.s1"), report(r, "1.s2")}));
  r.apply(reports({report(r, "1.s1", 0)}));
  cluster_state copy{r.state.whole()};
  CHECK(stable_bytes(copy.whole()) == stable_bytes(r.state.whole()));
  CHECK(copy.find_live_job("1")->tasks().done_count() == 1);
  CHECK(copy.find_live_job("1.s2")->slot() == 2);
}

TEST_CASE("a report sent again (its answer lost) hands out nothing new and ends nothing twice") {
  auto r = with_task_job(3, 1);
  const auto pull = report(r, "1.s1");
  r.apply(reports({pull}));
  r.apply(reports({pull}));
  CHECK(task_on(r, "1", "1.s1") == 0);
  CHECK(r.job("1").tasks().out_size() == 1);
  const auto end_and_pull = report(r, "1.s1", 0);
  r.apply(reports({end_and_pull}));
  auto again = r.apply(reports({end_and_pull}));
  CHECK(task_on(r, "1", "1.s1") == 1); // still task 1, not task 2
  CHECK(r.job("1").tasks().done_count() == 1);
  CHECK(r.job("1").tasks().cursor() == 2);
  CHECK(std::find(again.quiet_jobs.begin(), again.quiet_jobs.end(), "1") != again.quiet_jobs.end());
}

TEST_CASE("slots lost together end in id order, so every master decides the same") {
  // Tasks of one try each: the first slot's lost task fails the job, which stops the other.
  // Protobuf's map order differs between instances: several replicas, one outcome.
  std::vector<std::string> outcomes;
  for (int replica_number = 0; replica_number < 4; ++replica_number) {
    auto r = with_task_job(4, 3, 1);
    r.apply(reports({report(r, "1.s1"), report(r, "1.s2"), report(r, "1.s3")}));
    const auto lost = at(node_lost("a", "gone"), r);
    const auto result = r.state.apply(lost);
    ++r.next_index;
    REQUIRE(result.applied);
    CHECK(kinds(events_of(lost, result, r.state))
          == std::vector<std::string>{"node-lost ", "job-ended 1", "job-ended 1.s1",
                                      "job-ended 1.s2", "job-ended 1.s3"});
    const auto job = r.job("1");
    CHECK(job.state() == pb::JOB_FAILED);
    CHECK(job.tasks().failure().index() == 0); // slot 1's task: the first in id order
    CHECK(r.job("1.s1").state() == pb::JOB_LOST);
    CHECK(r.job("1.s3").state() == pb::JOB_LOST); // told its end, not left quiet
    outcomes.push_back(stable_bytes(r.state.whole()));
  }
  for (const auto& outcome : outcomes)
    CHECK(outcome == outcomes.front());
}

TEST_CASE("killing the last pending slot of a job ends the job") {
  replica r;
  r.apply(registered("a", 4000, 16 * gib));
  r.apply(submitted(tasks(3, 1)));
  REQUIRE(r.apply(kill("1.s1")).applied);
  CHECK(r.job("1").state() == pb::JOB_FAILED);
  CHECK(r.job("1").reason() == "every task slot ended with 0 of 3 tasks done");
}

TEST_CASE("a slot stopped because its job ended says so") {
  auto r = with_task_job(2, 2);
  r.apply(reports({report(r, "1.s1"), report(r, "1.s2")}));
  r.apply(reports({report(r, "1.s1", 0, 0, false), report(r, "1.s2", 1, 0, false)}));
  CHECK(r.job("1").state() == pb::JOB_SUCCEEDED);
  REQUIRE(r.apply(ended("1.s2", "a", 1, 15)).applied);
  CHECK(r.job("1.s2").reason() == "stopped: its job of many tasks had ended");
}
