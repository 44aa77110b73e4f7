// cluster_state with dependencies (submit --after): a job waits pending until the jobs it names
// have ended as asked, ends failed when one ends otherwise (and so on down a chain), and every
// master, snapshot or not, tells the same jobs in the same order.
#include <catch2/catch.hpp>

#include <random>
#include <string>
#include <vector>

#include "entries.hpp"
#include "state/cluster_state.hpp"

using namespace claud;
using namespace claud::state::test;
using strings = std::vector<std::string>;

namespace {

pb::JobSpec after(std::vector<std::pair<std::string, pb::DependencyCondition>> dependencies) {
  auto s = spec(1000, gib);
  for (const auto& [id, condition] : dependencies) {
    auto* d = s.add_after();
    d->set_job_id(id);
    d->set_condition(condition);
  }
  return s;
}

strings waits_for(const pb::Job& job) {
  return {job.waits_for().begin(), job.waits_for().end()};
}

/// Runs job `id`, placed on "a", to an exit with `code`.
void run_to_exit(replica& r, const std::string& id, int code) {
  REQUIRE(r.apply(placed(id, "a")).applied);
  const auto attempt = r.job(id).attempts();
  REQUIRE(r.apply(started(id, "a", attempt)).applied);
  REQUIRE(r.apply(exited(id, "a", attempt, code)).applied);
}

/// A slave "a" (8 CPUs, 16 GiB) and job 1 pending.
replica with_one_job() {
  replica r;
  r.apply(registered("a", 8000, 16 * gib));
  REQUIRE(r.apply(submitted(spec(1000, gib))).applied);
  return r;
}

} // namespace

TEST_CASE("a job waits for the jobs it names, and a placement before they end is refused") {
  auto r = with_one_job();
  auto result = r.apply(submitted(after({{"1", pb::AFTER_OK}})));
  REQUIRE(result.applied);
  CHECK(result.job_id == "2");
  CHECK(r.job("2").state() == pb::JOB_PENDING);
  CHECK(waits_for(r.job("2")) == strings{"1"});
  CHECK_FALSE(r.state.pending_view().jobs().at("2").waits_for().empty());
  // The scheduler does not place a waiting job; an entry that does anyway changes nothing.
  auto early = submitted(after({{"1", pb::AFTER_OK}}));
  early.mutable_job_submitted()->set_node_id("a");
  REQUIRE(r.apply(early).applied);
  CHECK(r.job("3").state() == pb::JOB_PENDING);
  CHECK(r.node("a").cpu_millis_used() == 0);
  auto refused = r.apply(placed("2", "a")); // nor is a placement of one that waits
  CHECK_FALSE(refused.applied);
  CHECK(refused.error == "job 2 waits for job 1");
  CHECK(r.job("2").state() == pb::JOB_PENDING);
  run_to_exit(r, "1", 0);
  CHECK(r.job("2").state() == pb::JOB_PENDING);
  CHECK(r.job("2").waits_for().empty());
  CHECK(r.job("3").waits_for().empty());
  CHECK(r.apply(placed("2", "a")).applied);
}

TEST_CASE("the end of a job tells those waiting for it, in the entry that ends it") {
  auto r = with_one_job();
  r.apply(submitted(after({{"1", pb::AFTER_OK}})));   // 2
  r.apply(submitted(after({{"1", pb::AFTER_FAIL}}))); // 3
  r.apply(submitted(after({{"1", pb::AFTER_ANY}})));  // 4
  REQUIRE(r.apply(placed("1", "a")).applied);
  REQUIRE(r.apply(started("1", "a", 1)).applied);
  auto result = r.apply(exited("1", "a", 1, 3));
  CHECK(result.changed_jobs == strings{"1", "2", "3", "4"});
  const auto failed = r.job("2");
  CHECK(failed.state() == pb::JOB_FAILED);
  CHECK(failed.reason()
        == "job 1 failed, and this job was to run only after it succeeded (--after 1:ok)");
  CHECK(failed.attempts() == 0);
  CHECK_FALSE(failed.has_exit_code());
  CHECK(failed.finished_at_ms() == r.job("1").finished_at_ms());
  CHECK(failed.history(failed.history_size() - 1).state() == pb::JOB_FAILED);
  CHECK(r.job("3").state() == pb::JOB_PENDING);
  CHECK(r.job("3").waits_for().empty());
  CHECK(r.job("4").state() == pb::JOB_PENDING);
  CHECK(r.job("4").waits_for().empty());
}

TEST_CASE("a failure runs down a chain, and a job after a failure runs") {
  auto r = with_one_job();
  r.apply(submitted(after({{"1", pb::AFTER_OK}})));   // 2
  r.apply(submitted(after({{"2", pb::AFTER_OK}})));   // 3
  r.apply(submitted(after({{"3", pb::AFTER_ANY}})));  // 4
  r.apply(submitted(after({{"4", pb::AFTER_OK}})));   // 5
  r.apply(submitted(after({{"3", pb::AFTER_FAIL}}))); // 6
  auto result = r.apply(kill("1"));
  CHECK(result.changed_jobs == strings{"1", "2", "3", "4", "6"});
  CHECK(r.job("1").state() == pb::JOB_KILLED);
  CHECK(r.job("2").reason()
        == "job 1 killed, and this job was to run only after it succeeded (--after 1:ok)");
  CHECK(r.job("3").state() == pb::JOB_FAILED);
  CHECK(r.job("3").reason()
        == "job 2 failed, and this job was to run only after it succeeded (--after 2:ok)");
  // 3 ended (failed): 4 (any) and 6 (fail) may run; 5 still waits for 4.
  CHECK(r.job("4").state() == pb::JOB_PENDING);
  CHECK(r.job("4").waits_for().empty());
  CHECK(r.job("6").waits_for().empty());
  CHECK(waits_for(r.job("5")) == strings{"4"});
  run_to_exit(r, "4", 0);
  CHECK(r.job("5").waits_for().empty());
}

TEST_CASE("fan-in: a job waits for all it names, and the first that fails it ends it") {
  auto r = with_one_job();
  r.apply(submitted(spec(1000, gib)));                                                        // 2
  r.apply(submitted(spec(1000, gib)));                                                        // 3
  r.apply(submitted(after({{"1", pb::AFTER_OK}, {"2", pb::AFTER_OK}, {"3", pb::AFTER_OK}}))); // 4
  r.apply(submitted(after({{"1", pb::AFTER_ANY}, {"3", pb::AFTER_OK}})));                     // 5
  CHECK(waits_for(r.job("4")) == strings{"1", "2", "3"});
  run_to_exit(r, "2", 0);
  CHECK(waits_for(r.job("4")) == strings{"1", "3"});
  run_to_exit(r, "1", 0);
  CHECK(waits_for(r.job("4")) == strings{"3"});
  CHECK(waits_for(r.job("5")) == strings{"3"});
  run_to_exit(r, "3", 1);
  CHECK(r.job("4").state() == pb::JOB_FAILED);
  CHECK(r.job("4").reason().rfind("job 3 failed", 0) == 0);
  CHECK(r.job("4").waits_for().empty());
  CHECK(r.job("5").state() == pb::JOB_FAILED);
}

TEST_CASE("a job named may have ended already: met at once, or the new job fails at once") {
  auto r = with_one_job();
  run_to_exit(r, "1", 0);
  auto met = r.apply(submitted(after({{"1", pb::AFTER_OK}})));
  REQUIRE(met.applied);
  CHECK(r.job(met.job_id).state() == pb::JOB_PENDING);
  CHECK(r.job(met.job_id).waits_for().empty());
  // Placed at submission, as for any job that waits for nothing any more.
  auto placed_at_once = submitted(after({{"1", pb::AFTER_ANY}}));
  placed_at_once.mutable_job_submitted()->set_node_id("a");
  auto placed_result = r.apply(placed_at_once);
  CHECK(r.job(placed_result.job_id).state() == pb::JOB_PLACED);
  auto never = r.apply(submitted(after({{"1", pb::AFTER_FAIL}})));
  REQUIRE(never.applied);
  CHECK(r.job(never.job_id).state() == pb::JOB_FAILED);
  CHECK(r.job(never.job_id).reason()
        == "job 1 succeeded, and this job was to run only if it did not succeed (--after 1:fail)");
  CHECK(r.state.find_live_job(never.job_id) == nullptr); // ended: frozen with the others
}

TEST_CASE("only jobs the state holds can be named: no cycle, no id spent") {
  auto r = with_one_job();
  auto unknown = r.apply(submitted(after({{"1", pb::AFTER_OK}, {"2", pb::AFTER_OK}})));
  CHECK_FALSE(unknown.applied);
  CHECK(unknown.error
        == "--after 2: the cluster holds no job 2 (only jobs `claud jobs` lists can be waited "
           "for)");
  CHECK(r.state.next_job_number() == 1);
  auto keyed = after({{"9", pb::AFTER_OK}});
  keyed.set_idempotency_key("k1");
  CHECK_FALSE(r.apply(submitted(keyed)).applied);
  CHECK_FALSE(r.state.submission("k1"));
}

TEST_CASE("a restart is not an end: those waiting wait on") {
  auto r = with_one_job();
  auto restarting = spec(1000, gib);
  restarting.set_restart(pb::RESTART_ON_FAILURE);
  restarting.set_max_attempts(2);
  r.apply(submitted(restarting));                   // 2
  r.apply(submitted(after({{"2", pb::AFTER_OK}}))); // 3
  run_to_exit(r, "2", 1);
  CHECK(r.job("2").state() == pb::JOB_PENDING);
  CHECK(waits_for(r.job("3")) == strings{"2"});
  run_to_exit(r, "2", 0);
  CHECK(r.job("3").waits_for().empty());
}

TEST_CASE("a job killed or lost while it waits waits no more, and tells its own waiting jobs") {
  auto r = with_one_job();
  r.apply(submitted(after({{"1", pb::AFTER_OK}})));   // 2
  r.apply(submitted(after({{"2", pb::AFTER_FAIL}}))); // 3
  auto result = r.apply(kill("2"));
  CHECK(result.changed_jobs == strings{"2", "3"});
  CHECK(r.job("2").state() == pb::JOB_KILLED);
  CHECK(r.job("2").waits_for().empty());
  CHECK(r.job("3").waits_for().empty()); // 2 did not succeed: met
  // Job 1 ends later: nobody waits for it now, and nothing changes but job 1.
  REQUIRE(r.apply(placed("1", "a")).applied);
  auto end = r.apply(exited("1", "a", 1, 0));
  CHECK(end.changed_jobs == strings{"1"});
}

TEST_CASE("the jobs of a lost node tell those waiting for them") {
  auto r = with_one_job();
  r.apply(submitted(after({{"1", pb::AFTER_OK}}))); // 2
  REQUIRE(r.apply(placed("1", "a")).applied);
  auto result = r.apply(node_lost("a", "missed heartbeats"));
  CHECK(result.changed_jobs == strings{"1", "2"});
  CHECK(r.job("1").state() == pb::JOB_LOST);
  CHECK(r.job("2").reason().rfind("job 1 lost, and this job", 0) == 0);
}

TEST_CASE("a state from a snapshot tells the same waiting jobs in the same order") {
  auto r = with_one_job();
  r.apply(submitted(spec(1000, gib)));                                      // 2
  r.apply(submitted(after({{"1", pb::AFTER_OK}})));                         // 3
  r.apply(submitted(after({{"2", pb::AFTER_ANY}, {"1", pb::AFTER_FAIL}}))); // 4
  r.apply(submitted(after({{"1", pb::AFTER_OK}, {"3", pb::AFTER_OK}})));    // 5
  replica restored;
  restored.state = state::cluster_state{r.state.whole()};
  restored.next_index = r.next_index;
  for (auto* each : {&r, &restored}) {
    REQUIRE(each->apply(placed("1", "a")).applied);
    REQUIRE(each->apply(started("1", "a", 1)).applied);
  }
  auto original = r.apply(exited("1", "a", 1, 0));
  auto copy = restored.apply(exited("1", "a", 1, 0));
  CHECK(original.changed_jobs == strings{"1", "3", "4", "5"});
  CHECK(copy.changed_jobs == original.changed_jobs);
  CHECK(stable_bytes(restored.state.whole()) == stable_bytes(r.state.whole()));
  CHECK(r.job("4").state() == pb::JOB_FAILED);
  CHECK(waits_for(r.job("5")) == strings{"3"});
}
