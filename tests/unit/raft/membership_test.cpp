// Membership changes in the raft core: the checks a change must pass, a new master that joins as
// a learner and is promoted once it has caught up, one change at a time, a removed leader that
// steps down and never campaigns again, and the membership a snapshot carries. The simulator
// (tests/sim) makes the same changes under faults.
#include "raft/membership.hpp"
#include "raft/raft_node.hpp"

#include <catch2/catch.hpp>

#include "perfect_group.hpp"

using namespace claud;
using namespace claud::raft;
using claud::raft::testing::fresh;
using claud::raft::testing::perfect_group;

namespace {

pb::MembershipChange change(pb::MembershipChange::Kind kind, const std::string& who) {
  pb::MembershipChange c;
  c.set_kind(kind);
  c.set_address(who);
  return c;
}

pb::LogEntry entry_of(const pb::MembershipChange& c) {
  pb::LogEntry e;
  *e.mutable_membership_change() = c;
  return e;
}

pb::LogEntry job_entry(const std::string& job_id) {
  pb::LogEntry e;
  e.mutable_job_kill_requested()->set_job_id(job_id);
  return e;
}

const auto add = pb::MembershipChange::ADD_LEARNER;
const auto promote = pb::MembershipChange::PROMOTE;
const auto remove_ = pb::MembershipChange::REMOVE;

} // namespace

TEST_CASE("a membership change is checked against the membership it would change") {
  auto m = membership::of_voters({"a", "b"});
  CHECK(m.problem(change(add, "")) == "a membership change must name a master's HOST:PORT");
  CHECK(m.problem(change(add, "a")) == "a is already a voting master");
  CHECK(m.problem(change(promote, "c")) == "c is not a learner");
  CHECK(m.problem(change(remove_, "c")) == "c is not a master of this cluster");
  REQUIRE(m.apply(change(add, "c")));
  CHECK(m.problem(change(add, "c"))
        == "c is already a learner; it becomes a voter once it has caught up");
  CHECK(m.quorum() == 2); // a learner does not count
  REQUIRE(m.apply(change(promote, "c")));
  CHECK(m.voters == std::set<std::string>{"a", "b", "c"});
  CHECK(m.quorum() == 2);
  REQUIRE(m.apply(change(remove_, "a")));
  REQUIRE(m.apply(change(remove_, "b")));
  CHECK(m.problem(change(remove_, "c")) == "c is the last voting master; a cluster needs one");
  CHECK_FALSE(m.apply(change(remove_, "c")));
  CHECK(membership::from_pb(m.to_pb()) == m);
}

TEST_CASE("a new master joins as a learner, catches up, and is promoted by the leader") {
  perfect_group g({"a", "b", "c"});
  auto& leader = g.leader();
  for (int i = 0; i < 5; ++i)
    leader.propose(job_entry(std::to_string(i)));
  g.settle();

  // Started with the cluster's --join, which does not name it: it waits and never campaigns.
  g.add("d", {"a", "b", "c"});
  for (int i = 0; i < 100; ++i)
    g.nodes.at("d").tick();
  g.settle();
  CHECK(g.nodes.at("d").current_role() == role::follower);
  CHECK(g.nodes.at("d").term() == 0);

  // Another change waits until the first is applied.
  REQUIRE(leader.membership_problem(change(add, "d")).empty());
  auto index = leader.propose(entry_of(change(add, "d")));
  REQUIRE(index > 0);
  CHECK(leader.membership_problem(change(add, "e")).rfind("another membership change", 0) == 0);
  CHECK(leader.propose(entry_of(change(add, "e"))) == 0);

  REQUIRE(g.tick_until(
      [&] { return g.nodes.at("d").members().is_voter("d") && leader.members().is_voter("d"); }));
  for (const auto& [id, node] : g.nodes) {
    INFO("master " << id);
    CHECK(node.members().voters == std::set<std::string>{"a", "b", "c", "d"});
    CHECK(node.members().learners.empty());
    CHECK(node.log().last_index() == leader.log().last_index());
  }
  CHECK(leader.quorum() == 3);
  // Two of four masters are no longer a majority.
  for (const auto& id : {"a", "b", "c", "d"})
    if (id != leader.id() && g.cut_off.size() < 2)
      g.cut_off.insert(id);
  auto stuck = leader.propose(job_entry("x"));
  g.tick_all();
  CHECK(leader.log().committed() < stuck);
}

TEST_CASE("a removed leader steps down once its removal commits and never campaigns again") {
  perfect_group g({"a", "b", "c", "d"});
  auto& old_leader = g.leader();
  const auto removed = old_leader.id();
  REQUIRE(old_leader.propose(entry_of(change(remove_, removed))) > 0);
  g.settle();
  CHECK_FALSE(old_leader.is_voter());               // in effect at once, committed or not
  CHECK(old_leader.current_role() == role::leader); // until the removal is committed
  g.tick_all();
  CHECK(old_leader.current_role() == role::follower);
  CHECK_FALSE(old_leader.is_voter());

  REQUIRE(g.tick_until([&] { return g.leaders().size() == 1; }));
  const auto next = g.leaders()[0];
  CHECK(next != removed);
  auto& leader = g.nodes.at(next);
  CHECK(leader.members().voters.size() == 3);
  CHECK(leader.peers().count(removed) == 0); // no longer replicated to
  const auto term = old_leader.term();
  // The removed master is left alone: it never campaigns, so it never raises a term.
  g.cut_off = {removed};
  for (int i = 0; i < 200; ++i)
    old_leader.tick();
  g.settle();
  CHECK(old_leader.term() == term);
  CHECK(old_leader.current_role() == role::follower);
  g.cut_off.clear();
  auto index = leader.propose(job_entry("after"));
  g.tick_all();
  CHECK(leader.log().committed() >= index);
}

TEST_CASE("removing a dead voter lets the rest commit with the smaller quorum") {
  perfect_group g({"a", "b", "c"});
  auto& leader = g.leader();
  std::string dead;
  for (const auto& [id, node] : g.nodes)
    if (id != leader.id() && dead.empty())
      dead = id;
  g.cut_off = {dead};
  REQUIRE(leader.propose(entry_of(change(remove_, dead))) > 0);
  g.tick_all();
  CHECK(leader.members().voters.size() == 2);
  CHECK(leader.quorum() == 2);
  CHECK(leader.current_role() == role::leader);
}

TEST_CASE("a snapshot's membership outranks the --join a master is started with") {
  pb::Snapshot snapshot;
  snapshot.set_index(10);
  snapshot.set_term(2);
  *snapshot.mutable_membership() = membership::of_voters({"a", "b", "d"}).to_pb();
  pb::HardState hs;
  hs.set_term(2);
  hs.set_commit(10);
  raft_node node(testing::config_of("d", {"a", "b", "c"}), hs, snapshot, {}, 1);
  CHECK(node.is_voter());
  CHECK(node.members().voters == std::set<std::string>{"a", "b", "d"});
  // A snapshot written before membership changes existed has none: --join stands.
  snapshot.clear_membership();
  raft_node older(testing::config_of("c", {"a", "b", "c"}), hs, snapshot, {}, 1);
  CHECK(older.members().voters == std::set<std::string>{"a", "b", "c"});
}
