// scheduler, against a fake leader_election under CAF's test coordinator: it places only while
// this master leads, bin-packs onto the tightest node, logs nothing for a job that fits nowhere
// (its status says why, worked out when read), coalesces bursts into few passes, and places a
// waiting job once room frees up.
#include "actors/scheduler.hpp"

#include <string>

#include "actor_fixture.hpp"

using namespace claud;
using namespace claud::test;

namespace {

struct scheduler_fixture : actor_fixture {
  caf::actor scheduler;

  scheduler_fixture() {
    scheduler_config config;
    config.leader_election = election;
    config.internal_timeout = 60s;
    scheduler = keep(spawn_scheduler(sys, config));
    run();
  }

  /// The job as `claud status` reads it (with why it waits, if it does).
  pb::Job status(const std::string& job_id) {
    auto answer = ask<pb::Job>(election, local_atom::value, status_atom::value, job_id);
    run();
    REQUIRE(answer->ok());
    return answer->value;
  }
};

} // namespace

TEST_CASE_METHOD(scheduler_fixture, "while not leading the scheduler proposes nothing") {
  commit(entries::registered("a", 4000, 8 * entries::gib));
  commit(entries::submitted(job_spec(1)));
  set_role(false, "m2:7400"); // another master leads
  commit(entries::submitted(job_spec(1)));
  CHECK(election_state().proposals.empty());
  CHECK(job("1").state() == pb::JOB_PENDING);
  CHECK(job("2").state() == pb::JOB_PENDING);
}

TEST_CASE_METHOD(scheduler_fixture,
                 "once leading, a pending job that fits is placed on the tightest node") {
  commit(entries::registered("a", 4000, 8 * entries::gib));
  commit(entries::registered("b", 2000, 8 * entries::gib));
  commit(entries::registered("c", 1000, 8 * entries::gib));
  commit(entries::submitted(job_spec(1.5))); // fits a and b; b is left with less
  REQUIRE(election_state().proposals.empty());

  set_role(true); // jobs pending from before this master led are placed now
  auto placements = proposed(pb::LogEntry::kJobPlaced);
  REQUIRE(placements.size() == 1);
  CHECK(placements[0].job_placed().job_id() == "1");
  CHECK(placements[0].job_placed().node_id() == "b");
  CHECK(job("1").state() == pb::JOB_PLACED);
  CHECK(job("1").node_id() == "b");
  CHECK(job("1").attempts() == 1);
  CHECK(node("b").cpu_millis_used() == 1500);
  CHECK(proposed(pb::LogEntry::kJobUnplaceable).empty());
}

TEST_CASE_METHOD(scheduler_fixture,
                 "a job that fits nowhere logs nothing; its status says why, as of the read") {
  set_role(true);
  commit(entries::registered("a", 4000, 8 * entries::gib));
  commit(entries::submitted(job_spec(8)));
  CHECK(job("1").state() == pb::JOB_PENDING);
  CHECK(job("1").reason().empty()); // nothing committed about it
  CHECK(status("1").reason() == "needs 8 CPUs and 1 GiB; most free CPU is 4 CPUs on a");

  commit(entries::registered("d", 1000, 8 * entries::gib)); // a smaller node joins
  commit(entries::submitted(job_spec(16)));                 // another job that fits nowhere
  commit(entries::registered("e", 6000, 8 * entries::gib)); // a larger one: the reason follows
  CHECK(status("1").reason() == "needs 8 CPUs and 1 GiB; most free CPU is 6 CPUs on e");
  CHECK(status("2").reason() == "needs 16 CPUs and 1 GiB; most free CPU is 6 CPUs on e");
  CHECK(proposed(pb::LogEntry::kJobPlaced).empty());
  CHECK(election_state().proposals.empty());
}

TEST_CASE_METHOD(scheduler_fixture, "a pass skips jobs no smaller than one that did not fit") {
  set_role(true);
  commit(entries::registered("a", 1000, 8 * entries::gib));
  commit(entries::submitted(job_spec(2)));   // fits nowhere
  commit(entries::submitted(job_spec(3)));   // larger: skipped without a search
  commit(entries::submitted(job_spec(0.5))); // smaller: placed
  CHECK(job("3").state() == pb::JOB_PLACED);
  CHECK(job("1").state() == pb::JOB_PENDING);
  CHECK(job("2").state() == pb::JOB_PENDING);
  CHECK(status("2").reason() == "needs 3 CPUs and 1 GiB; most free CPU is 0.5 CPUs on a");
}

TEST_CASE_METHOD(scheduler_fixture,
                 "a pass looks past misfits while a shape of waiting job may still fit") {
  set_role(true);
  commit(entries::registered("a", 1000, 8 * entries::gib));
  for (int i = 0; i < 3; ++i)
    commit(entries::submitted(job_spec(2))); // one shape, fits nowhere
  auto in_zone_b = job_spec(0.5);
  auto* constraint = in_zone_b.add_constraints();
  constraint->set_key("zone");
  constraint->set_value("b");
  commit(entries::submitted(in_zone_b));     // small, but no node is in zone b
  commit(entries::submitted(job_spec(0.5))); // small and unconstrained: placed
  CHECK(job("5").state() == pb::JOB_PLACED);
  for (const auto* waiting : {"1", "2", "3", "4"})
    CHECK(job(waiting).state() == pb::JOB_PENDING);
}

TEST_CASE_METHOD(scheduler_fixture, "a burst of waiting jobs is placed once each") {
  set_role(true);
  commit(entries::registered("a", 16000, 64 * entries::gib));
  const int burst = 20;
  for (int i = 0; i < burst; ++i) // all in the fake's mailbox before any actor runs
    caf::anon_send(election, commit_atom::value, entries::submitted(job_spec(0.5)));
  run();
  CHECK(proposed(pb::LogEntry::kJobPlaced).size() == burst); // each placed exactly once
  for (int i = 1; i <= burst; ++i)
    CHECK(job(std::to_string(i)).state() == pb::JOB_PLACED);
  CHECK(node("a").cpu_millis_used() == burst * 500);
}

TEST_CASE_METHOD(scheduler_fixture, "a job waiting for room is placed when a job there ends") {
  set_role(true);
  commit(entries::registered("a", 2000, 8 * entries::gib));
  commit(entries::submitted(job_spec(2)));
  commit(entries::submitted(job_spec(2)));
  REQUIRE(job("1").state() == pb::JOB_PLACED);
  REQUIRE(job("2").state() == pb::JOB_PENDING);

  commit(entries::started("1", "a", 1));
  commit(entries::exited("1", "a", 1, 0));
  CHECK(job("1").state() == pb::JOB_SUCCEEDED);
  CHECK(job("2").state() == pb::JOB_PLACED);
  CHECK(job("2").node_id() == "a");
}

TEST_CASE_METHOD(scheduler_fixture,
                 "a pass does not wait for an earlier pass's placements to commit") {
  set_role(true);
  commit(entries::registered("a", 4000, 8 * entries::gib));
  election_state().hold_proposals = true;
  commit(entries::submitted(job_spec(2)));
  REQUIRE(election_state().held.size() == 1); // job 1's placement, in flight
  commit(entries::submitted(job_spec(2)));    // a pass runs meanwhile: job 2, not job 1 again
  commit(entries::submitted(job_spec(1)));    // a is taken by the two in flight: job 3 waits
  REQUIRE(election_state().held.size() == 2);
  CHECK(election_state().held[0].first.job_placed().job_id() == "1");
  CHECK(election_state().held[1].first.job_placed().job_id() == "2");

  election_state().hold_proposals = false;
  caf::anon_send(election, release_atom::value);
  run();
  CHECK(job("1").state() == pb::JOB_PLACED);
  CHECK(job("2").state() == pb::JOB_PLACED);
  CHECK(job("3").state() == pb::JOB_PENDING);
  CHECK(proposed(pb::LogEntry::kJobPlaced).size() == 2); // each placed once
  CHECK(node("a").cpu_millis_used() == 4000);
}

TEST_CASE_METHOD(scheduler_fixture, "a scheduler that stops leading stops placing") {
  set_role(true);
  commit(entries::registered("a", 2000, 8 * entries::gib));
  set_role(false, "m2:7400");
  commit(entries::submitted(job_spec(1)));
  CHECK(proposed(pb::LogEntry::kJobPlaced).empty());
  CHECK(job("1").state() == pb::JOB_PENDING);
}

TEST_CASE_METHOD(scheduler_fixture,
                 "a submission that fits is placed in the entry that submits it") {
  set_role(true);
  commit(entries::registered("a", 2000, 8 * entries::gib));
  commit(entries::registered("b", 1000, 8 * entries::gib));
  // Sent together: one batch, each placement reserved before the next is decided.
  auto first = ask<pb::Job>(scheduler, submit_atom::value, job_spec(1));
  auto second = ask<pb::Job>(scheduler, submit_atom::value, job_spec(1));
  auto third = ask<pb::Job>(scheduler, submit_atom::value, job_spec(1));
  auto fourth = ask<pb::Job>(scheduler, submit_atom::value, job_spec(1));
  run();
  for (const auto& answer : {first, second, third})
    REQUIRE(answer->ok());
  auto submissions = proposed(pb::LogEntry::kJobSubmitted);
  REQUIRE(submissions.size() == 4);
  CHECK(submissions[0].job_submitted().node_id() == "b"); // bin-packing: the tightest first
  CHECK(submissions[1].job_submitted().node_id() == "a");
  CHECK(submissions[2].job_submitted().node_id() == "a");
  CHECK(submissions[3].job_submitted().node_id().empty()); // fits nowhere now: pending
  CHECK(proposed(pb::LogEntry::kJobPlaced).empty());
  CHECK(first->value.state() == pb::JOB_PLACED); // the answer is the committed record
  CHECK(first->value.node_id() == "b");
  CHECK(job(third->value.id()).node_id() == "a");
  REQUIRE(fourth->ok());
  CHECK(fourth->value.state() == pb::JOB_PENDING);
  CHECK(job(fourth->value.id()).state() == pb::JOB_PENDING);
  CHECK(node("a").cpu_millis_used() == 2000);
}

TEST_CASE_METHOD(scheduler_fixture, "a submission no node could ever run is refused unwritten") {
  set_role(true);
  commit(entries::registered("a", 2000, 8 * entries::gib));
  auto answer = ask<pb::Job>(scheduler, submit_atom::value, job_spec(3));
  run();
  REQUIRE(answer->done);
  CHECK(has_code(answer->error, errc::invalid_request));
  CHECK(answer->message()
        == "no node could ever run this job: it needs 3 CPUs and 1 GiB, the largest node offers "
           "2 CPUs (a); ask for less with --cpus");
  CHECK(proposed(pb::LogEntry::kJobSubmitted).empty());
}

TEST_CASE_METHOD(scheduler_fixture, "a retry of an accepted submission gets its job even when no "
                                    "node could run it now") {
  set_role(true);
  commit(entries::registered("a", 4000, 8 * entries::gib));
  auto spec = job_spec(3);
  spec.set_idempotency_key("k-1");
  auto accepted = ask<pb::Job>(scheduler, submit_atom::value, spec);
  run();
  REQUIRE(accepted->ok());
  commit(entries::registered("a", 2000, 8 * entries::gib)); // back with fewer CPUs
  // Its answer was lost; the client asks again under the same key.
  auto retry = ask<pb::Job>(scheduler, submit_atom::value, spec);
  run();
  REQUIRE(retry->ok());
  CHECK(retry->value.id() == accepted->value.id());
  spec.set_idempotency_key("k-2"); // a new submission: refused as before
  auto fresh = ask<pb::Job>(scheduler, submit_atom::value, spec);
  run();
  REQUIRE(fresh->done);
  CHECK(has_code(fresh->error, errc::invalid_request));
}

TEST_CASE_METHOD(scheduler_fixture,
                 "a submission placed on a node that is gone by its commit waits") {
  set_role(true);
  commit(entries::registered("a", 2000, 8 * entries::gib));
  auto entry = entries::submitted(job_spec(1));
  entry.mutable_job_submitted()->set_node_id("gone"); // decided against an older picture
  commit(entry);
  CHECK(job("1").state() == pb::JOB_PLACED); // the pass that the pending job asked for placed it
  CHECK(job("1").node_id() == "a");
  REQUIRE(proposed(pb::LogEntry::kJobPlaced).size() == 1);
}

TEST_CASE_METHOD(scheduler_fixture,
                 "a master that starts leading places what it only knows from a snapshot") {
  // A follower that installs a snapshot gets no update for what it covers.
  auto silently = [&](pb::LogEntry entry) {
    entry.set_index(election_state().next_index++);
    REQUIRE(election_state().machine.apply(entry).applied);
  };
  silently(entries::registered("a", 2000, 8 * entries::gib));
  silently(entries::submitted(job_spec(1)));
  set_role(true);
  CHECK(job("1").state() == pb::JOB_PLACED);
  CHECK(job("1").node_id() == "a");
}

TEST_CASE_METHOD(scheduler_fixture, "a placement refused by apply is tried again shortly") {
  set_role(true);
  commit(entries::registered("a", 2000, 8 * entries::gib));
  // The committed state fills node a without the scheduler hearing of it (as after a snapshot).
  auto hidden = entries::submitted(job_spec(2));
  hidden.mutable_job_submitted()->set_node_id("a");
  hidden.set_index(election_state().next_index++);
  REQUIRE(election_state().machine.apply(hidden).applied);
  commit(entries::submitted(job_spec(1))); // placed on a by the scheduler's picture: refused
  REQUIRE(proposed(pb::LogEntry::kJobPlaced).size() == 1);
  CHECK(job("2").state() == pb::JOB_PENDING);

  auto ended = entries::exited("1", "a", 1, 0); // the hidden job ends, as silently: room again
  ended.set_index(election_state().next_index++);
  REQUIRE(election_state().machine.apply(ended).applied);
  run();
  CHECK(job("2").state() == pb::JOB_PENDING); // nothing told the scheduler; only its retry
  advance(100ms);
  CHECK(proposed(pb::LogEntry::kJobPlaced).size() >= 2);
  CHECK(job("2").state() == pb::JOB_PLACED);
}
