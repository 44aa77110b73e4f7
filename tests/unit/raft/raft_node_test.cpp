// raft_node, a few focused cases (the simulator in tests/sim covers it under faults): the
// configuration's one-line errors, a single master leading at its first tick, and three masters
// electing one leader that replicates and commits, refusing a candidate with a stale log, and a
// leader batching its appends between readies.
#include "raft/raft_node.hpp"

#include "perfect_group.hpp"

#include <catch2/catch.hpp>

#include <map>
#include <stdexcept>
#include <string>
#include <vector>

using namespace claud;
using namespace claud::raft;
using claud::raft::testing::fresh;

namespace {

pb::LogEntry job_entry(const std::string& job_id) {
  pb::LogEntry e;
  e.mutable_job_kill_requested()->set_job_id(job_id);
  return e;
}

/// Three masters over a perfect network.
struct trio : testing::perfect_group {
  trio() : perfect_group({"a", "b", "c"}) {}
};

} // namespace

TEST_CASE("validate names what is wrong with a raft configuration in one line") {
  CHECK(validate(testing::config_of("a", {"a", "b", "c"})).empty());
  CHECK(validate(testing::config_of("", {"a"})) == "the master needs an id");
  CHECK(validate(testing::config_of("d", {})) == "the list of masters is empty");
  CHECK(validate(testing::config_of("a", {"a", "b", "a"}))
        == "the list of masters names one master twice");
  auto c = testing::config_of("a", {"a"});
  c.heartbeat_ticks = 0;
  CHECK(validate(c) == "the heartbeat interval must be positive");
  c.heartbeat_ticks = 10;
  c.election_ticks = 10;
  CHECK(validate(c) == "the election timeout must be greater than the heartbeat interval");
  c = testing::config_of("a", {"a"});
  c.max_entries_per_message = 0;
  CHECK(validate(c) == "a message must be allowed to carry at least one entry");
  CHECK_THROWS_AS(fresh("", {"a"}, 1), std::invalid_argument);
}

TEST_CASE("a single master leads at its first tick and commits its proposals alone") {
  auto node = fresh("a", {"a"}, 7);
  CHECK(node.current_role() == role::follower);
  CHECK(node.propose(job_entry("1")) == 0); // not the leader yet
  node.tick();
  CHECK(node.current_role() == role::leader);
  CHECK(node.term() == 1);
  CHECK(node.leader() == "a");

  REQUIRE(node.has_ready());
  auto rd = node.take_ready();
  CHECK(rd.hard_state_changed);
  CHECK(rd.hard_state.term() == 1);
  CHECK(rd.hard_state.vote() == "a");
  CHECK(rd.hard_state.commit() == 1);
  REQUIRE(rd.entries.size() == 1); // the leader's no-op of its term
  CHECK(rd.entries[0].index() == 1);
  CHECK(rd.entries[0].term() == 1);
  CHECK(rd.entries[0].op_case() == pb::LogEntry::OP_NOT_SET);
  CHECK(rd.committed.size() == 1);
  CHECK(rd.messages.empty());
  node.advance(rd);
  CHECK_FALSE(node.has_ready());

  CHECK(node.propose(job_entry("1")) == 2);
  rd = node.take_ready();
  REQUIRE(rd.entries.size() == 1);
  REQUIRE(rd.committed.size() == 1);
  CHECK(rd.committed[0].index() == 2);
  CHECK(rd.committed[0].term() == 1);
  CHECK(rd.committed[0].job_kill_requested().job_id() == "1");
  node.advance(rd);
  CHECK(node.log().applied() == 2);
  CHECK(node.persisted_hard_state().commit() == 2);

  CHECK(node.read_index(5));
  rd = node.take_ready();
  REQUIRE(rd.reads.size() == 1);
  CHECK(rd.reads[0].context == 5);
  CHECK(rd.reads[0].index == 2);
}

TEST_CASE("three masters elect one leader, which replicates and commits on every master") {
  trio t;
  for (int i = 0; i < 40 && t.leaders().empty(); ++i)
    t.tick_all();
  REQUIRE(t.leaders().size() == 1);
  auto leader_id = t.leaders()[0];
  auto& leader = t.nodes.at(leader_id);
  for (const auto& [id, node] : t.nodes) {
    CHECK(node.term() == leader.term());
    CHECK(node.leader() == leader_id);
  }
  auto index = leader.propose(job_entry("9"));
  REQUIRE(index > 0);
  t.settle();
  t.tick_all(); // a heartbeat carries the new commit index to the followers
  for (const auto& [id, node] : t.nodes) {
    INFO("master " << id);
    CHECK(node.log().committed() >= index);
    REQUIRE(!t.applied[id].empty());
    CHECK(t.applied[id].back().index() == index);
    CHECK(t.applied[id].back().job_kill_requested().job_id() == "9");
  }
}

TEST_CASE("a master refuses its vote to a candidate whose log is behind its own") {
  auto voter = fresh("b", {"a", "b", "c"}, 3);
  pb::RaftMessage append;
  append.set_type(pb::RAFT_APPEND);
  append.set_from("a");
  append.set_to("b");
  append.set_term(2);
  auto* e = append.add_entries();
  e->set_index(1);
  e->set_term(2);
  voter.step(append);
  REQUIRE(voter.log().last_index() == 1);
  voter.advance(voter.take_ready());
  for (int i = 0; i < 10; ++i)
    voter.tick();                    // the leader's lease has run out: votes are heard again
  voter.advance(voter.take_ready()); // whatever the ticks produced (perhaps a pre-vote)

  pb::RaftMessage vote;
  vote.set_type(pb::RAFT_VOTE);
  vote.set_from("c");
  vote.set_to("b");
  vote.set_term(3);
  vote.set_index(5);
  vote.set_log_term(1); // a longer log, but of an older term
  voter.step(vote);
  auto rd = voter.take_ready();
  REQUIRE(rd.messages.size() == 1);
  CHECK(rd.messages[0].type() == pb::RAFT_VOTE_RESPONSE);
  CHECK(rd.messages[0].reject());
  CHECK(voter.term() == 3);
  CHECK(rd.hard_state.vote().empty());
}

TEST_CASE("a leader sends each follower one append for all it proposed and heard between readies") {
  trio t;
  for (int i = 0; i < 40 && t.leaders().empty(); ++i)
    t.tick_all();
  REQUIRE(t.leaders().size() == 1);
  auto& leader = t.nodes.at(t.leaders()[0]);
  auto first = leader.propose(job_entry("1"));
  leader.propose(job_entry("2"));
  auto last = leader.propose(job_entry("3"));
  auto rd = leader.take_ready();
  REQUIRE(rd.messages.size() == 2); // one per follower
  std::vector<pb::RaftMessage> answers;
  for (const auto& m : rd.messages) {
    CHECK(m.type() == pb::RAFT_APPEND);
    REQUIRE(m.entries_size() == 3);
    CHECK(m.entries(0).index() == first);
    CHECK(m.entries(2).index() == last);
    auto& follower = t.nodes.at(m.to());
    follower.step(m);
    auto answer = follower.take_ready();
    follower.advance(answer);
    answers.insert(answers.end(), answer.messages.begin(), answer.messages.end());
  }
  leader.advance(rd);
  REQUIRE(answers.size() == 2);
  // Both answers commit the entries: the followers learn the new commit index from one append
  // each, not from one per answer.
  for (const auto& answer : answers)
    leader.step(answer);
  rd = leader.take_ready();
  CHECK(leader.log().committed() == last);
  REQUIRE(rd.messages.size() == 2);
  for (const auto& m : rd.messages) {
    CHECK(m.type() == pb::RAFT_APPEND);
    CHECK(m.entries_size() == 0);
    CHECK(m.commit() == last);
  }
}
