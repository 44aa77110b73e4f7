// cluster_state: every transition of the replicated state machine, the no-ops it refuses (with a
// reason, never a crash), and what each apply reports as changed (determinism under random
// entries: cluster_state_random_test.cpp).
#include "state/cluster_state.hpp"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "entries.hpp"

using namespace claud;
using namespace claud::state::test;
using strings = std::vector<std::string>;

namespace {

/// The jobs and nodes tables: equal iff the tables are equal.
std::string tables(const state::cluster_state& s) {
  pb::ClusterState copy = s.whole();
  copy.clear_applied_index();
  return stable_bytes(copy);
}

/// A slave "a" (4 CPUs, 8 GiB) and job "1" (1 CPU, 1 GiB) placed there: attempt 1.
replica with_placed_job() {
  replica r;
  r.apply(registered("a", 4000, 8 * gib));
  r.apply(submitted(spec(1000, gib)));
  REQUIRE(r.apply(placed("1", "a")).applied);
  return r;
}

} // namespace

TEST_CASE("submissions get ids 1, 2, 3 and wait pending") {
  replica r;
  for (int i = 1; i <= 3; ++i) {
    auto result = r.apply(submitted(spec(500 * i, gib, "job" + std::to_string(i))));
    CHECK(result.applied);
    CHECK(result.error.empty());
    CHECK(result.job_id == std::to_string(i));
    CHECK(result.changed_jobs == strings{std::to_string(i)});
    CHECK(result.changed_nodes.empty());
  }
  const auto& second = r.job("2");
  CHECK(second.id() == "2");
  CHECK(second.state() == pb::JOB_PENDING);
  CHECK(second.spec().name() == "job2");
  CHECK(second.spec().cpu_millis() == 1000);
  CHECK(second.submitted_at_ms() == 2000);
  CHECK(second.attempts() == 0);
  CHECK(second.node_id().empty());
  CHECK(r.state.next_job_number() == 3);
  CHECK_FALSE(r.state.find_job("4"));
}

TEST_CASE("a submission that holds a placement is placed in the same entry, if it still fits") {
  replica r;
  r.apply(registered("a", 2000, 4 * gib));
  auto entry = submitted(spec(1500, gib));
  entry.mutable_job_submitted()->set_node_id("a");
  auto result = r.apply(entry);
  CHECK(result.applied);
  CHECK(result.job_id == "1");
  CHECK(result.changed_jobs == strings{"1"});
  CHECK(result.changed_nodes == strings{"a"});
  const auto& job = r.job("1");
  CHECK(job.state() == pb::JOB_PLACED);
  CHECK(job.node_id() == "a");
  CHECK(job.attempts() == 1);
  REQUIRE(job.history_size() == 2); // both steps, at the entry's time
  CHECK(job.history(0).state() == pb::JOB_PENDING);
  CHECK(job.history(1).state() == pb::JOB_PLACED);
  CHECK(job.history(1).time_ms() == job.submitted_at_ms());
  CHECK(r.node("a").cpu_millis_used() == 1500);

  // Decided before the first one committed: no room left on a, so it waits pending.
  auto second = submitted(spec(1000, gib));
  second.mutable_job_submitted()->set_node_id("a");
  result = r.apply(second);
  CHECK(result.applied);
  CHECK(result.changed_nodes.empty());
  CHECK(r.job("2").state() == pb::JOB_PENDING);
  CHECK(r.job("2").attempts() == 0);
  CHECK(r.job("2").reason().empty());
  CHECK(r.node("a").cpu_millis_used() == 1500);

  auto nowhere = submitted(spec(100, gib));
  nowhere.mutable_job_submitted()->set_node_id("zz"); // a node the state does not know
  CHECK(r.apply(nowhere).applied);
  CHECK(r.job("3").state() == pb::JOB_PENDING);
}

TEST_CASE("applied_index follows the entry index, also for entries that are no-ops") {
  state::cluster_state s;
  CHECK(s.applied_index() == 0);
  auto e = submitted(spec(1000, gib));
  e.set_index(7);
  CHECK(s.apply(e).applied);
  CHECK(s.applied_index() == 7);
  auto stale = placed("1", "nowhere");
  stale.set_index(8);
  CHECK_FALSE(s.apply(stale).applied);
  CHECK(s.applied_index() == 8);
  pb::LogEntry empty;
  empty.set_index(9);
  auto result = s.apply(empty);
  CHECK_FALSE(result.applied);
  CHECK(result.error == "empty log entry");
  CHECK(s.applied_index() == 9);
}

TEST_CASE("a placement reserves the job's resources on its node") {
  replica r;
  r.apply(registered("a", 4000, 8 * gib));
  r.apply(submitted(spec(1500, 3 * gib)));
  r.apply(unplaceable("1", "waiting"));
  auto result = r.apply(placed("1", "a"));
  CHECK(result.applied);
  CHECK(result.changed_jobs == strings{"1"});
  CHECK(result.changed_nodes == strings{"a"});
  const auto& job = r.job("1");
  CHECK(job.state() == pb::JOB_PLACED);
  CHECK(job.node_id() == "a");
  CHECK(job.attempts() == 1);
  CHECK(job.reason().empty());
  CHECK(r.node("a").cpu_millis_used() == 1500);
  CHECK(r.node("a").memory_bytes_used() == 3 * gib);
}

TEST_CASE("a stale placement is a no-op with a reason") {
  replica r;
  r.apply(registered("a", 2000, 4 * gib));
  r.apply(registered("b", 2000, 4 * gib));
  r.apply(submitted(spec(1500, gib)));
  r.apply(submitted(spec(1000, 2 * gib)));
  r.apply(submitted(spec(500, 3 * gib)));
  REQUIRE(r.apply(placed("1", "a")).applied);
  const auto before = tables(r.state);
  state::apply_result result;

  SECTION("the job is no longer pending") {
    result = r.apply(placed("1", "b"));
    CHECK(result.error == "job 1 is not pending");
  }
  SECTION("the job does not exist") {
    result = r.apply(placed("99", "b"));
    CHECK(result.error == "job 99 is not pending");
  }
  SECTION("the node is unknown") {
    result = r.apply(placed("2", "zz"));
    CHECK(result.error == "node zz is not alive");
  }
  SECTION("the node is a master, which runs no jobs") {
    r.apply(registered("m", 64000, 64 * gib, pb::ROLE_MASTER));
    const auto after_master = tables(r.state);
    result = r.apply(placed("2", "m"));
    CHECK(result.error == "node m does not run jobs");
    CHECK(tables(r.state) == after_master);
    return;
  }
  SECTION("the node is down") {
    r.apply(node_lost("b", "missed heartbeats"));
    const auto after_loss = tables(r.state);
    result = r.apply(placed("2", "b"));
    CHECK(result.error == "node b is not alive");
    CHECK(tables(r.state) == after_loss);
    return;
  }
  SECTION("the job no longer fits: CPU") {
    result = r.apply(placed("2", "a"));
    CHECK(result.error == "job 2 no longer fits on node a");
  }
  SECTION("the job no longer fits: memory") {
    REQUIRE(r.apply(placed("3", "b")).applied);
    const auto after = tables(r.state);
    result = r.apply(placed("2", "b"));
    CHECK(result.error == "job 2 no longer fits on node b");
    CHECK(tables(r.state) == after);
    return;
  }
  CHECK_FALSE(result.applied);
  CHECK(result.changed_jobs.empty());
  CHECK(result.changed_nodes.empty());
  CHECK(tables(r.state) == before);
}

TEST_CASE("reports count only for the current attempt on its node") {
  replica r = with_placed_job();
  r.apply(registered("b", 4000, 8 * gib));
  const auto before = tables(r.state);
  state::apply_result result;

  SECTION("an older attempt") {
    result = r.apply(started("1", "a", 0));
    CHECK(result.error == "job 1 attempt 0 on a is not its current attempt");
  }
  SECTION("a later attempt") {
    result = r.apply(exited("1", "a", 2, 0));
    CHECK(result.error == "job 1 attempt 2 on a is not its current attempt");
  }
  SECTION("another node") {
    result = r.apply(exited("1", "b", 1, 0));
    CHECK(result.error == "job 1 attempt 1 on b is not its current attempt");
  }
  SECTION("an unknown job") {
    result = r.apply(started("7", "a", 1));
    CHECK(result.error == "no job 7");
  }
  SECTION("a second start") {
    REQUIRE(r.apply(started("1", "a", 1)).applied);
    const auto running = tables(r.state);
    result = r.apply(started("1", "a", 1));
    CHECK(result.error == "job 1 is already running");
    CHECK(tables(r.state) == running);
    return;
  }
  SECTION("a job that has ended") {
    REQUIRE(r.apply(exited("1", "a", 1, 0)).applied);
    const auto ended_state = tables(r.state);
    result = r.apply(exited("1", "a", 1, 3));
    CHECK(result.error == "job 1 attempt 1 on a is not its current attempt");
    CHECK(tables(r.state) == ended_state);
    return;
  }
  CHECK_FALSE(result.applied);
  CHECK(tables(r.state) == before);
}

TEST_CASE("start marks the job running at the entry's time") {
  replica r = with_placed_job();
  auto result = r.apply(started("1", "a", 1));
  CHECK(result.applied);
  CHECK(result.changed_jobs == strings{"1"});
  CHECK(result.changed_nodes.empty());
  CHECK(r.job("1").state() == pb::JOB_RUNNING);
  CHECK(r.job("1").started_at_ms() == 4000);
  CHECK(r.node("a").cpu_millis_used() == 1000);
}

TEST_CASE("finishing decides the outcome and releases the node") {
  replica r = with_placed_job();
  r.apply(started("1", "a", 1));
  state::apply_result result;
  pb::JobState expected = pb::JOB_STATE_UNSPECIFIED;
  std::string reason;

  SECTION("exit code 0 succeeds") {
    result = r.apply(exited("1", "a", 1, 0));
    expected = pb::JOB_SUCCEEDED;
    CHECK(r.job("1").has_exit_code());
    CHECK(r.job("1").exit_code() == 0);
  }
  SECTION("a non-zero exit code fails") {
    result = r.apply(exited("1", "a", 1, 3));
    expected = pb::JOB_FAILED;
    CHECK(r.job("1").exit_code() == 3);
  }
  SECTION("a signal fails") {
    result = r.apply(ended("1", "a", 1, 9));
    expected = pb::JOB_FAILED;
    CHECK_FALSE(r.job("1").has_exit_code());
    CHECK(r.job("1").term_signal() == 9);
  }
  SECTION("a start failure fails with its reason, even with exit code 0") {
    auto e = ended("1", "a", 1, 0, "cannot exec 'sleep': not found");
    e.mutable_job_finished()->set_has_exit_code(true);
    result = r.apply(e);
    expected = pb::JOB_FAILED;
    reason = "cannot exec 'sleep': not found";
  }
  SECTION("a kill requested before the end makes it killed") {
    REQUIRE(r.apply(kill("1")).applied);
    CHECK(r.job("1").state() == pb::JOB_RUNNING);
    CHECK(r.node("a").cpu_millis_used() == 1000);
    result = r.apply(ended("1", "a", 1, 15));
    expected = pb::JOB_KILLED;
    reason = "killed by a user";
  }
  CHECK(result.applied);
  CHECK(result.changed_jobs == strings{"1"});
  CHECK(result.changed_nodes == strings{"a"});
  const auto& job = r.job("1");
  CHECK(job.state() == expected);
  CHECK(job.reason() == reason);
  CHECK(job.finished_at_ms() == static_cast<int64_t>(r.state.applied_index()) * 1000);
  CHECK(r.node("a").cpu_millis_used() == 0);
  CHECK(r.node("a").memory_bytes_used() == 0);
}

TEST_CASE("a placed job that never started can finish as failed") {
  replica r = with_placed_job();
  REQUIRE(r.apply(ended("1", "a", 1, 0, "no such file")).applied);
  CHECK(r.job("1").state() == pb::JOB_FAILED);
  CHECK(r.job("1").started_at_ms() == 0);
  CHECK(r.node("a").cpu_millis_used() == 0);
}

TEST_CASE("a job reported started and ended at once shows both, for as long as it ran") {
  replica r = with_placed_job(); // placed by entry 3, at 3000 ms
  auto e = exited("1", "a", 1, 0);
  e.mutable_job_finished()->set_started(true);
  e.mutable_job_finished()->set_ran_for_ms(400);
  REQUIRE(r.apply(e).applied); // entry 4, at 4000 ms
  const auto& job = r.job("1");
  CHECK(job.state() == pb::JOB_SUCCEEDED);
  CHECK(job.started_at_ms() == 3600);
  CHECK(job.finished_at_ms() == 4000);
  REQUIRE(job.history_size() == 4);
  CHECK(job.history(2).state() == pb::JOB_RUNNING);
  CHECK(job.history(2).time_ms() == 3600);
  CHECK(job.history(3).state() == pb::JOB_SUCCEEDED);
  CHECK(r.node("a").cpu_millis_used() == 0);

  // A slave's measure never puts the start before the placement.
  replica late = with_placed_job();
  e.mutable_job_finished()->set_ran_for_ms(5000);
  REQUIRE(late.apply(e).applied);
  CHECK(late.job("1").started_at_ms() == 3000);
}

TEST_CASE("kill cancels a pending job, marks a running one, refuses one that ended otherwise") {
  replica r = with_placed_job();
  r.apply(submitted(spec(1000, gib)));

  auto pending = r.apply(kill("2"));
  CHECK(pending.applied);
  CHECK(pending.changed_jobs == strings{"2"});
  CHECK(r.job("2").state() == pb::JOB_KILLED);
  CHECK(r.job("2").reason() == "cancelled by a user before it started");
  CHECK(r.job("2").finished_at_ms() == 5000);
  CHECK_FALSE(r.apply(placed("2", "a")).applied);

  auto placed_kill = r.apply(kill("1"));
  CHECK(placed_kill.applied);
  CHECK(placed_kill.changed_nodes.empty());
  CHECK(r.job("1").state() == pb::JOB_PLACED);
  CHECK(r.job("1").kill_requested());
  CHECK(r.job("1").finished_at_ms() == 0);

  // A kill asked again (a client's retry) is applied and changes nothing, killed or not yet.
  CHECK(r.apply(kill("2")).applied);
  CHECK(r.apply(kill("1")).applied);
  CHECK(r.job("1").state() == pb::JOB_PLACED);
  REQUIRE(r.apply(submitted(spec(100, gib / 8))).applied); // job 3 ends without a kill
  REQUIRE(r.apply(placed("3", "a")).applied);
  REQUIRE(r.apply(exited("3", "a", 1, 0)).applied);
  CHECK(r.apply(kill("3")).error == "job 3 has already ended (succeeded)");
  CHECK(r.apply(kill("42")).error == "no job 42");
}

TEST_CASE("a lost job releases its node and keeps the reason") {
  replica r = with_placed_job();
  r.apply(started("1", "a", 1));
  auto result = r.apply(job_lost("1", "slave a no longer knows it"));
  CHECK(result.applied);
  CHECK(result.changed_jobs == strings{"1"});
  CHECK(result.changed_nodes == strings{"a"});
  CHECK(r.job("1").state() == pb::JOB_LOST);
  CHECK(r.job("1").reason() == "slave a no longer knows it");
  CHECK(r.node("a").cpu_millis_used() == 0);
  CHECK(r.node("a").memory_bytes_used() == 0);

  auto again = r.apply(job_lost("1", "twice"));
  CHECK_FALSE(again.applied);
  CHECK(again.error == "job 1 is not placed or running");
  r.apply(submitted(spec(1000, gib)));
  CHECK_FALSE(r.apply(job_lost("2", "pending")).applied);
  CHECK(r.job("2").state() == pb::JOB_PENDING);
}

TEST_CASE("re-registration updates a node but keeps what its jobs use") {
  replica r = with_placed_job();
  auto e = registered("a", 6000, 16 * gib);
  e.mutable_node_registered()->mutable_node()->set_cpu_millis_used(123); // the node's claim
  e.mutable_node_registered()->mutable_node()->set_address("10.0.0.9:7400");
  e.mutable_node_registered()->mutable_node()->set_state(pb::NODE_DOWN);
  e.mutable_node_registered()->mutable_node()->set_reason("stale claim");
  auto result = r.apply(e);
  CHECK(result.applied);
  CHECK(result.changed_nodes == strings{"a"});
  CHECK(result.changed_jobs.empty());
  const auto& node = r.node("a");
  CHECK(node.cpu_millis_total() == 6000);
  CHECK(node.memory_bytes_total() == 16 * gib);
  CHECK(node.address() == "10.0.0.9:7400");
  CHECK(node.cpu_millis_used() == 1000);
  CHECK(node.memory_bytes_used() == gib);
  CHECK(node.state() == pb::NODE_ALIVE);
  CHECK(node.reason().empty());
  CHECK(node.registered_at_ms() == 4000);
  CHECK(r.job("1").state() == pb::JOB_PLACED);
}

TEST_CASE("a lost node loses its placed and running jobs, and can come back") {
  replica r;
  r.apply(registered("a", 8000, 8 * gib));
  r.apply(registered("b", 8000, 8 * gib));
  for (int i = 0; i < 11; ++i)
    r.apply(submitted(spec(500, gib / 4)));
  // Eight lost jobs: map order differs per instance, so only sorting gives the order below.
  for (const char* job : {"2", "10", "3", "11", "9", "5", "8", "6", "7"})
    REQUIRE(r.apply(placed(job, "a")).applied);
  REQUIRE(r.apply(placed("4", "b")).applied);
  REQUIRE(r.apply(started("10", "a", 1)).applied);
  REQUIRE(r.apply(exited("11", "a", 1, 0)).applied);

  auto result = r.apply(node_lost("a", "missed 5 heartbeats"));
  CHECK(result.applied);
  CHECK(result.changed_nodes == strings{"a"});
  CHECK(result.changed_jobs == strings{"10", "2", "3", "5", "6", "7", "8", "9"});
  for (const char* id : {"2", "3", "5", "6", "7", "8", "9", "10"}) {
    CHECK(r.job(id).state() == pb::JOB_LOST);
    CHECK(r.job(id).reason() == "node a was lost: missed 5 heartbeats");
  }
  CHECK(r.job("11").state() == pb::JOB_SUCCEEDED);
  CHECK(r.job("1").state() == pb::JOB_PENDING);
  CHECK(r.job("4").state() == pb::JOB_PLACED);
  CHECK(r.node("a").state() == pb::NODE_DOWN);
  CHECK(r.node("a").reason() == "missed 5 heartbeats");
  CHECK(r.node("a").cpu_millis_used() == 0);
  CHECK(r.node("a").memory_bytes_used() == 0);
  CHECK(r.node("b").cpu_millis_used() == 500);

  CHECK(r.apply(node_lost("a", "again")).error == "node a is not alive");
  CHECK(r.apply(node_lost("zz", "never seen")).error == "node zz is not alive");
  CHECK_FALSE(r.apply(exited("10", "a", 1, 0)).applied); // a late report of the lost attempt
  CHECK(r.job("10").state() == pb::JOB_LOST);

  REQUIRE(r.apply(registered("a", 8000, 8 * gib)).applied);
  CHECK(r.node("a").state() == pb::NODE_ALIVE);
  CHECK(r.node("a").reason().empty());
  CHECK(r.node("a").cpu_millis_used() == 0);
  CHECK(r.apply(placed("1", "a")).applied);
}

TEST_CASE("unplaceable sets the reason of pending jobs only") {
  replica r = with_placed_job();
  r.apply(submitted(spec(1000, gib)));
  auto result = r.apply(unplaceable("2", "needs 1 CPU and 1 GiB; most free CPU is 0 CPUs on a"));
  CHECK(result.applied);
  CHECK(result.changed_jobs == strings{"2"});
  CHECK(r.job("2").reason() == "needs 1 CPU and 1 GiB; most free CPU is 0 CPUs on a");
  CHECK(r.job("2").state() == pb::JOB_PENDING);

  auto refused = r.apply(unplaceable("1", "stale"));
  CHECK_FALSE(refused.applied);
  CHECK(refused.error == "job 1 is not pending");
  CHECK(r.job("1").reason().empty());
  CHECK_FALSE(r.apply(unplaceable("9", "unknown")).applied);
}

TEST_CASE("a state restored from a snapshot continues where it stopped") {
  replica r = with_placed_job();
  state::cluster_state restored{r.state.whole()};
  CHECK(tables(restored) == tables(r.state));
  CHECK(restored.applied_index() == 3);
  auto e = submitted(spec(1000, gib));
  e.set_index(4);
  CHECK(restored.apply(e).job_id == "2");
  CHECK(restored.find_node("a")->cpu_millis_used() == 1000);
}
