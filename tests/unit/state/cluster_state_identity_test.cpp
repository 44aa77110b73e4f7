// cluster_state: who a node and a submission are: a live node's id is its incarnation's alone,
// and a submission's idempotency key makes one job, remembered one retention past it.

#include "state/cluster_state.hpp"

#include <catch2/catch.hpp>

#include <string>

#include "entries.hpp"

using namespace claud;
using namespace claud::state::test;

TEST_CASE("a live node's id is refused to another incarnation, and free once the node is down") {
  replica r;
  auto as = [](uint64_t incarnation) {
    auto e = registered("a", 8000, 8 * gib);
    e.mutable_node_registered()->mutable_node()->set_incarnation(incarnation);
    return e;
  };
  REQUIRE(r.apply(as(7)).applied);
  CHECK(r.apply(as(7)).applied); // the same data dir, registering again
  auto refused = r.apply(as(9));
  CHECK_FALSE(refused.applied);
  CHECK(refused.error
        == "node id a belongs to a live node with another data dir (at a.example:7400); give "
           "this node its own --node-id, or stop the other one first");
  CHECK(r.node("a").incarnation() == 7);
  CHECK(r.apply(as(0)).applied);         // a node of an older claud does not say
  CHECK(r.node("a").incarnation() == 7); // and does not lift the guard
  CHECK_FALSE(r.apply(as(9)).applied);
  REQUIRE(r.apply(node_lost("a", "gone")).applied);
  CHECK(r.apply(as(9)).applied); // a replacement, once the old one is down
  CHECK(r.node("a").incarnation() == 9);
}

TEST_CASE("a submission whose idempotency key is known is its job, not a second one") {
  replica r;
  auto keyed = [](const std::string& key) {
    auto e = submitted(spec(500, gib / 4));
    e.mutable_job_submitted()->mutable_spec()->set_idempotency_key(key);
    return e;
  };
  auto first = r.apply(keyed("k1"));
  REQUIRE(first.applied);
  auto again = r.apply(keyed("k1"));
  CHECK(again.applied);
  CHECK(again.job_id == first.job_id);
  CHECK(again.changed_jobs.empty());
  CHECK(r.apply(keyed("k2")).job_id != first.job_id);
  CHECK(r.apply(submitted(spec(500, gib / 4))).applied); // no key, no deduplication
  CHECK(r.apply(submitted(spec(500, gib / 4))).applied);

  // Its job ends and leaves the state: the key stays one more retention, refusing a late retry.
  pb::LogEntry kill;
  kill.mutable_job_kill_requested()->set_job_id(first.job_id);
  REQUIRE(r.apply(kill).applied);    // a pending job is cancelled at once
  auto ended = r.apply(keyed("k1")); // the ended job, frozen with its key, still answers
  CHECK(ended.applied);
  CHECK(ended.job_id == first.job_id);
  CHECK(ended.changed_jobs.empty());
  pb::LogEntry expire;
  expire.mutable_jobs_expired()->set_finished_before_ms(1'000'000'000);
  REQUIRE(r.apply(expire).applied);
  const std::string refusal = "this submission (idempotency key k1) was accepted as job "
                              + first.job_id + ", which has ended and left the state";
  auto late = r.apply(keyed("k1"));
  CHECK_FALSE(late.applied);
  CHECK(late.error == refusal);
  // A master restored from a snapshot refuses it too.
  replica restored{state::cluster_state{r.state.whole()}, r.next_index};
  CHECK(restored.apply(keyed("k1")).error == refusal);
  CHECK(restored.state.submission("k1")->job_id() == first.job_id);
  // One retention later the key is forgotten too.
  pb::LogEntry later;
  later.mutable_jobs_expired()->set_finished_before_ms(2'000'000'000'000);
  REQUIRE(r.apply(later).applied);
  CHECK(r.apply(keyed("k1")).applied);
}
