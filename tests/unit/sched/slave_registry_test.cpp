// slave_registry: who may register, who is lost by silence, and the order of what a slave is told
// (its queued starts before a kill), with strings as connections.
#include "sched/slave_registry.hpp"

#include <catch2/catch.hpp>

using registry = claud::sched::slave_registry<std::string>;
namespace pb = claud::pb;

namespace {

pb::Node slave(const std::string& id, uint64_t incarnation) {
  pb::Node n;
  n.set_id(id);
  n.set_role(pb::ROLE_SLAVE);
  n.set_state(pb::NODE_ALIVE);
  n.set_incarnation(incarnation);
  return n;
}

pb::Job placed(const std::string& id, const std::string& node_id, uint32_t attempt = 1) {
  pb::Job job;
  job.set_id(id);
  job.set_node_id(node_id);
  job.set_state(pb::JOB_PLACED);
  job.set_attempts(attempt);
  job.mutable_spec()->add_argv("true");
  return job;
}

} // namespace

TEST_CASE("a live id with another incarnation is refused; the same one may reconnect") {
  registry r{1000};
  r.set_leading(true);
  CHECK(r.admit(slave("a", 7), "conn-1", 0).refusal.empty());
  auto impostor = r.admit(slave("a", 8), "conn-2", 10);
  CHECK_FALSE(impostor.refusal.empty());
  CHECK(r.find("a")->connection == "conn-1");
  auto again = r.admit(slave("a", 7), "conn-3", 20);
  CHECK(again.refusal.empty());
  REQUIRE(again.replaced);
  CHECK(*again.replaced == "conn-1");
  CHECK(r.node_of("conn-3") == "a");
  CHECK(r.node_of("conn-1").empty());
  CHECK_FALSE(r.forget("a", "conn-1")); // a stale connection does not take the new one with it
  CHECK(r.forget("a", "conn-3"));
  CHECK_FALSE(r.registered("a"));
}

TEST_CASE("a slave silent past the timeout is lost; one heard from is not") {
  registry r{1000};
  r.set_leading(true);
  r.admit(slave("a", 1), "ca", 0);
  r.admit(slave("b", 1), "cb", 0);
  r.admit(slave("c", 1), "cc", 0); // its registration never answered: it waits, not silent
  r.registration_settled("a", "ca", 0);
  r.registration_settled("b", "cb", 0);
  CHECK(r.heard("b", 900));
  CHECK_FALSE(r.heard("z", 900));
  CHECK(r.lose_silent(1000).empty()); // exactly the timeout is not yet silence
  auto lost = r.lose_silent(1001);
  REQUIRE(lost.size() == 1);
  CHECK(lost[0].connection == "ca");
  CHECK(lost[0].entry.node_lost().node_id() == "a");
  CHECK(lost[0].entry.node_lost().reason().find("1000 ms") != std::string::npos);
  CHECK_FALSE(r.registered("a"));
  CHECK(r.registered("b"));
  CHECK(r.registered("c"));
  r.registration_settled("c", "cc", 5000); // answered late: its silence counts from now
  r.heard("b", 5000);
  CHECK(r.lose_silent(6000).empty());
  r.heard("b", 6000);
  auto late = r.lose_silent(6001);
  REQUIRE(late.size() == 1);
  CHECK(late[0].entry.node_lost().node_id() == "c");
}

TEST_CASE("starts of a burst go out as one batch per slave, and a kill never overtakes them") {
  registry r{1000};
  r.set_leading(true);
  r.admit(slave("a", 1), "ca", 0);
  r.admit(slave("b", 1), "cb", 0);
  CHECK_FALSE(r.on_job_update(placed("1", "a")));
  CHECK_FALSE(r.on_job_update(placed("2", "a")));
  CHECK_FALSE(r.on_job_update(placed("3", "b")));
  CHECK_FALSE(r.on_job_update(placed("4", "gone"))); // told when it registers again
  CHECK(r.starts_queued());

  auto killed = placed("2", "a");
  killed.set_kill_requested(true);
  auto kill = r.on_job_update(killed);
  REQUIRE(kill);
  CHECK(kill->to == "ca");
  CHECK(kill->starts.jobs_size() == 2); // 1 and 2 first
  REQUIRE(kill->kill);
  CHECK(kill->kill->job_id == "2");

  auto starts = r.take_starts();
  REQUIRE(starts.size() == 1);
  CHECK(starts[0].to == "cb");
  CHECK(starts[0].starts.jobs(0).id() == "3");
  CHECK_FALSE(r.starts_queued());
}

TEST_CASE("a kill committed with the placement it follows sends the start first") {
  registry r{1000};
  r.set_leading(true);
  r.admit(slave("a", 1), "ca", 0);
  auto job = placed("1", "a", 2);
  job.set_kill_requested(true); // the latest record: both entries of the commit applied
  auto kill = r.on_job_update(job);
  REQUIRE(kill);
  REQUIRE(kill->starts.jobs_size() == 1);
  CHECK(kill->starts.jobs(0).attempts() == 2);
  REQUIRE(kill->kill);
  CHECK(kill->kill->attempt == 2);
}

TEST_CASE("starts sent while a registration waits for reconciliation are remembered until then") {
  registry r{1000};
  r.set_leading(true);
  r.queue_start(placed("0", "a")); // not registered: nothing
  r.admit(slave("a", 1), "ca", 0);
  r.queue_start(placed("1", "a"));
  r.admit(slave("a", 1), "ca", 10); // the slave registered again meanwhile
  r.queue_start(placed("2", "a"));
  CHECK(r.told_since_report("a") == claud::sched::attempt_set{{"1", 1}, {"2", 1}});
  r.registration_reconciled("a", "ca"); // the first: the second still waits
  CHECK(r.told_since_report("a").size() == 2);
  r.registration_reconciled("a", "ca");
  CHECK(r.told_since_report("a").empty());
  r.queue_start(placed("3", "a")); // reconciled: nothing to remember
  CHECK(r.told_since_report("a").empty());
}

TEST_CASE("a leadership that starts or ends forgets every slave") {
  registry r{1000};
  r.set_leading(true);
  r.admit(slave("a", 1), "ca", 0);
  r.queue_start(placed("1", "a"));
  CHECK(r.set_leading(true).empty()); // no change
  auto forgotten = r.set_leading(false);
  CHECK(forgotten == std::vector<std::string>{"ca"});
  CHECK(r.size() == 0);
  CHECK_FALSE(r.starts_queued());
}
