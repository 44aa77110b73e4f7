// cluster_state under random entries, valid or not: replicas applying the same ones, and one
// restored from a snapshot half-way, end byte-identical, and the bookkeeping holds after each.
#include "state/cluster_state.hpp"

#include <catch2/catch.hpp>
#include <google/protobuf/util/message_differencer.h>

#include <memory>
#include <random>
#include <set>

#include "entries.hpp"
#include "state/job_states.hpp"

using namespace claud;
using namespace claud::state::test;

namespace {

/// A snapshot holds every live job as its parsed record is now: the bytes the state keeps for
/// each one were made again at its every change.
void check_snapshot_bytes(const state::cluster_state& s) {
  const auto whole = s.whole();
  for (const auto& [id, job] : s.live_jobs()) {
    auto in_snapshot = whole.jobs().find(id);
    REQUIRE(in_snapshot != whole.jobs().end());
    INFO("job " << id);
    CHECK(google::protobuf::util::MessageDifferencer::Equals(in_snapshot->second, job));
  }
  CHECK(whole.jobs_size() == static_cast<int>(s.job_count()));
}

/// What each node uses equals what its placed and running jobs ask for; no job holds a down node;
/// no job waits for one that has ended.
void check_bookkeeping(const state::cluster_state& s) {
  for (const auto& [node_id, node] : s.nodes()) {
    int64_t cpu = 0;
    int64_t memory = 0;
    for (const auto& [job_id, job] : s.live_jobs()) {
      if (job.node_id() != node_id
          || (job.state() != pb::JOB_PLACED && job.state() != pb::JOB_RUNNING))
        continue;
      CHECK(node.state() == pb::NODE_ALIVE);
      cpu += job.spec().cpu_millis();
      memory += job.spec().memory_bytes();
    }
    REQUIRE(node.cpu_millis_used() == cpu);
    REQUIRE(node.memory_bytes_used() == memory);
  }
  // A task is out only on a live slot of its job, in the attempt that slot runs: none is lost.
  for (const auto& [job_id, job] : s.live_jobs()) {
    if (!state::is_task_job(job)) {
      INFO("slot " << job_id);
      if (!job.slot_of().empty() && !job.kill_requested() && !state::is_terminal(job.state()))
        REQUIRE(s.find_live_job(job.slot_of()) != nullptr); // a slot outlives its job only
                                                            // while it is being stopped
      continue;
    }
    REQUIRE(job.tasks().done_count() + static_cast<uint32_t>(job.tasks().out_size())
            <= job.spec().task_count());
    for (const auto& out : job.tasks().out()) {
      const auto* slot
          = s.find_live_job(state::slot_id(job_id, static_cast<uint32_t>(out.slot() >> 32)));
      INFO("job " << job_id << " task " << out.index());
      REQUIRE(slot != nullptr);
      REQUIRE(state::holds_resources(slot->state()));
      REQUIRE(slot->attempts() == static_cast<uint32_t>(out.slot()));
    }
  }
  // Only a pending job waits, and only for jobs that have not ended.
  for (const auto& [job_id, job] : s.live_jobs())
    for (const auto& waited_for : job.waits_for()) {
      REQUIRE(job.state() == pb::JOB_PENDING);
      REQUIRE(s.find_live_job(waited_for) != nullptr);
    }
}

} // namespace

TEST_CASE("replicas applying the same random entries end byte-identical") {
  std::set<int> ops_applied; // which kinds of entries changed state at least once
  for (uint32_t seed : {1u, 2u, 3u, 4u, 5u}) {
    INFO("seed " << seed);
    std::mt19937 random(seed);
    replica first;
    replica second;
    std::unique_ptr<replica> restored; // from a snapshot of `first` half-way
    size_t applied = 0;
    for (int i = 0; i < 400; ++i) {
      auto e = random_entry(random, first.state);
      auto a = first.apply(e);
      auto b = second.apply(e);
      REQUIRE(a.applied == b.applied);
      REQUIRE(a.error == b.error);
      REQUIRE(a.job_id == b.job_id);
      REQUIRE(a.changed_jobs == b.changed_jobs);
      REQUIRE(a.changed_nodes == b.changed_nodes);
      REQUIRE(a.applied == a.error.empty());
      if (a.applied) {
        ++applied;
        ops_applied.insert(e.op_case());
      }
      if (restored)
        restored->apply(e);
      else if (i == 200)
        restored = std::make_unique<replica>(
            replica{state::cluster_state{first.state.whole()}, first.next_index});
      check_bookkeeping(first.state);
      if (i % 7 == 0)
        check_snapshot_bytes(first.state);
    }
    CHECK(applied > 100); // the mix exercised real transitions, not only no-ops
    CHECK(applied < 400);
    CHECK(first.state.applied_index() == 400);
    // Plain SerializeAsString() is not enough: protobuf seeds each map's iteration order per
    // instance, so two equal states may serialize their maps in different orders.
    CHECK(stable_bytes(first.state.whole()) == stable_bytes(second.state.whole()));
    CHECK(stable_bytes(first.state.whole()) == stable_bytes(restored->state.whole()));
  }
  CHECK(ops_applied.size() == 10);
}
