// pending_queue: the scheduler's decisions without an actor — what a pass places where, what it
// holds until the proposal is answered, backoffs, the per-pass bound, and submissions.
#include "sched/pending_queue.hpp"

#include <catch2/catch.hpp>

using claud::sched::pending_queue;
namespace pb = claud::pb;

namespace {

constexpr int64_t gib = int64_t{1} << 30;

pb::Node node(const std::string& id, int64_t cpu_millis) {
  pb::Node n;
  n.set_id(id);
  n.set_state(pb::NODE_ALIVE);
  n.set_role(pb::ROLE_SLAVE);
  n.set_cpu_millis_total(cpu_millis);
  n.set_memory_bytes_total(8 * gib);
  return n;
}

pb::JobSpec spec(int64_t cpu_millis) {
  pb::JobSpec s;
  s.add_argv("true");
  s.set_cpu_millis(cpu_millis);
  s.set_memory_bytes(gib);
  return s;
}

pb::Job pending_job(uint64_t number, int64_t cpu_millis, int64_t not_before_ms = 0) {
  pb::Job job;
  job.set_id(std::to_string(number));
  job.set_state(pb::JOB_PENDING);
  *job.mutable_spec() = spec(cpu_millis);
  job.set_not_before_ms(not_before_ms);
  return job;
}

std::vector<std::string> placed_ids(const pending_queue::pass_plan& plan) {
  std::vector<std::string> ids;
  for (const auto& p : plan.placements)
    ids.push_back(p.entry.job_placed().job_id() + "@" + p.entry.job_placed().node_id());
  return ids;
}

} // namespace

TEST_CASE("a pass places pending jobs oldest first, each seeing what the earlier ones took") {
  pending_queue queue{1024};
  queue.update_node(node("a", 2000));
  queue.update_node(node("b", 1000));
  CHECK(queue.track(pending_job(2, 1000)));
  CHECK(queue.track(pending_job(1, 1500)));
  CHECK(queue.track(pending_job(3, 1000)));
  auto plan = queue.pass(0);
  // 1 (1.5 CPU) goes to a; 2 then fits only b, its tightest; 3 fits nowhere and waits.
  CHECK(placed_ids(plan) == std::vector<std::string>{"1@a", "2@b"});
  CHECK(plan.wake_at_ms == 0);
  CHECK_FALSE(plan.more);
  CHECK(queue.nodes().reservations() == 2);
}

TEST_CASE("a placement is held until answered: the next pass neither repeats it nor reuses its "
          "room") {
  pending_queue queue{1024};
  queue.update_node(node("a", 1000));
  queue.track(pending_job(1, 1000));
  auto first = queue.pass(0);
  REQUIRE(first.placements.size() == 1);
  queue.track(pending_job(2, 1000));
  CHECK(queue.pass(0).placements.empty()); // 1 is being proposed; its room is held

  SECTION("refused: its room is free again, and a pass is asked for shortly, not at once") {
    CHECK(queue.placement_answered(first.placements[0], false, 500)
          == 500 + pending_queue::retry_after_refusal_ms);
    CHECK(queue.nodes().reservations() == 0);
    CHECK(placed_ids(queue.pass(600)) == std::vector<std::string>{"1@a"});
  }
  SECTION("applied: the committed records take over from the hold") {
    CHECK(queue.placement_answered(first.placements[0], true, 500) == 0);
    auto placed = pending_job(1, 1000);
    placed.set_state(pb::JOB_PLACED);
    CHECK_FALSE(queue.track(placed));
    auto full = node("a", 1000);
    full.set_cpu_millis_used(1000);
    queue.update_node(full);
    CHECK(queue.pass(600).placements.empty());
    CHECK(queue.pending() == 1);
  }
}

TEST_CASE("a restart waits out its backoff, and the pass says when the first one ends") {
  pending_queue queue{1024};
  queue.update_node(node("a", 4000));
  queue.track(pending_job(1, 100, 5000));
  queue.track(pending_job(2, 100, 3000));
  auto early = queue.pass(1000);
  CHECK(early.placements.empty());
  CHECK(early.wake_at_ms == 3000);
  auto later = queue.pass(3000);
  CHECK(placed_ids(later) == std::vector<std::string>{"2@a"});
  CHECK(later.wake_at_ms == 5000);
}

TEST_CASE("a pass places at most its bound and says there is more") {
  pending_queue queue{2};
  queue.update_node(node("a", 8000));
  for (uint64_t n = 1; n <= 5; ++n)
    queue.track(pending_job(n, 100));
  auto plan = queue.pass(0);
  CHECK(placed_ids(plan) == std::vector<std::string>{"1@a", "2@a"});
  CHECK(plan.more);
  CHECK(placed_ids(queue.pass(0)) == std::vector<std::string>{"3@a", "4@a"});
}

TEST_CASE("jobs no smaller than one that did not fit are skipped; smaller ones still fit") {
  pending_queue queue{1024};
  queue.update_node(node("a", 1000));
  queue.track(pending_job(1, 2000));
  queue.track(pending_job(2, 3000));
  queue.track(pending_job(3, 500));
  CHECK(placed_ids(queue.pass(0)) == std::vector<std::string>{"3@a"});
}

TEST_CASE("a job that leaves pending (placed, killed, expired) leaves the queue") {
  pending_queue queue{1024};
  queue.update_node(node("a", 1000));
  queue.track(pending_job(1, 100));
  auto killed = pending_job(1, 100);
  killed.set_state(pb::JOB_KILLED);
  CHECK_FALSE(queue.track(killed));
  CHECK(queue.pending() == 0);
  CHECK(queue.pass(0).placements.empty());
}

TEST_CASE("reload replaces the jobs and nodes with the committed view") {
  pending_queue queue{1024};
  queue.update_node(node("old", 1000));
  queue.track(pending_job(7, 100));
  pb::ClusterState view;
  (*view.mutable_nodes())["a"] = node("a", 1000);
  (*view.mutable_jobs())["1"] = pending_job(1, 100);
  auto running = pending_job(2, 100);
  running.set_state(pb::JOB_RUNNING);
  (*view.mutable_jobs())["2"] = running;
  queue.reload(view);
  CHECK(queue.pending() == 1);
  CHECK(placed_ids(queue.pass(0)) == std::vector<std::string>{"1@a"});
}

TEST_CASE("a retry of a submission in flight proposes nothing and follows the first") {
  pending_queue queue{1024};
  queue.update_node(node("a", 4000));
  auto keyed = [](const std::string& key, int64_t cpu) {
    auto s = spec(cpu);
    s.set_idempotency_key(key);
    return s;
  };
  auto first = queue.plan_submissions({keyed("k1", 100), keyed("k1", 100), keyed("huge", 64000)});
  CHECK(first[0].follows.empty());
  CHECK(first[0].entry.has_job_submitted());
  CHECK(first[1].follows == "k1"); // the same batch
  CHECK_FALSE(first[1].entry.has_job_submitted());
  CHECK_FALSE(first[2].refusal.empty());
  auto retry = queue.plan_submissions({keyed("k1", 100), keyed("huge", 64000)});
  CHECK(retry[0].follows == "k1");       // a later batch, while the first is in flight
  CHECK_FALSE(retry[1].refusal.empty()); // a refusal holds no key
  CHECK(retry[1].follows.empty());
  queue.submission_answered(first[0]);
  auto later = queue.plan_submissions({keyed("k1", 100)});
  CHECK(later[0].follows.empty()); // answered: a new try proposes again (the state dedups)
  CHECK(later[0].entry.has_job_submitted());
}

TEST_CASE("submissions are refused when no node could ever run them, else placed as a batch") {
  pending_queue queue{1024};
  queue.update_node(node("a", 1000));
  queue.update_node(node("b", 1000));
  auto plans = queue.plan_submissions({spec(800), spec(64000), spec(800), spec(800)});
  REQUIRE(plans.size() == 4);
  CHECK(plans[0].entry.job_submitted().node_id() == "a");
  CHECK_FALSE(plans[1].refusal.empty());
  CHECK_FALSE(plans[1].entry.has_job_submitted());
  CHECK(plans[2].entry.job_submitted().node_id() == "b");
  // Fits the cluster, but not now: submitted without a placement, to wait for a pass.
  CHECK(plans[3].refusal.empty());
  CHECK(plans[3].entry.job_submitted().node_id().empty());
  CHECK(plans[3].reservation == 0);
  CHECK(queue.nodes().reservations() == 2);
  for (const auto& plan : plans)
    queue.submission_answered(plan);
  CHECK(queue.nodes().reservations() == 0);
}

TEST_CASE("a job waiting for jobs is placed neither by a pass nor on arrival, until it waits no "
          "more") {
  pending_queue queue{1024};
  queue.update_node(node("a", 4000));
  auto waiting = pending_job(1, 1000);
  waiting.add_waits_for("7");
  CHECK_FALSE(queue.track(waiting));
  CHECK(queue.pending() == 0);
  CHECK(queue.pass(0).placements.empty());
  waiting.clear_waits_for(); // job 7 ended as asked
  CHECK(queue.track(waiting));
  CHECK(placed_ids(queue.pass(0)) == std::vector<std::string>{"1@a"});

  auto dependent = spec(1000);
  dependent.add_after()->set_job_id("7");
  auto plans = queue.plan_submissions({dependent, spec(1000)});
  REQUIRE(plans.size() == 2);
  CHECK(plans[0].refusal.empty());
  CHECK(plans[0].entry.job_submitted().node_id().empty()); // apply decides whether it waits
  CHECK(plans[0].reservation == 0);
  CHECK(plans[1].entry.job_submitted().node_id() == "a");
}
