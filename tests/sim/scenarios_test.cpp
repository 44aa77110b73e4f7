// Scenario tests: short stories on the simulated cluster (cluster.hpp), each naming the situation
// and the part of the Raft paper (or of claud's raft core) it shows. The checker's invariants run
// after every step here as in the random runs, so a scenario also fails on any safety violation.
// The network is lossless with one step of delay unless a test cuts links; one step is one tick.

#include <catch2/catch.hpp>

#include "cluster.hpp"

using namespace claud;
using claud::sim::cluster;
using claud::sim::crash_mode;

namespace {

constexpr int election_ticks = 10; // timeouts are drawn from [10, 20)

sim::cluster_options masters(int count, uint64_t seed, uint64_t snapshot_every = 1000) {
  sim::cluster_options o;
  o.masters = count;
  o.seed = seed;
  o.election_ticks = election_ticks;
  o.heartbeat_ticks = 1;
  o.snapshot_every_entries = snapshot_every;
  return o;
}

/// Runs until some master leads and has committed its term's first entry; returns it.
std::string elect(cluster& t) {
  REQUIRE(t.run_until(
      [&] {
        auto l = t.leader();
        return !l.empty() && t.commit(l) > 0
               && t.master(l).raft().log().term(t.commit(l)) == t.term(l);
      },
      20 * election_ticks));
  return t.leader();
}

std::vector<std::string> followers_of(const cluster& t, const std::string& leader) {
  std::vector<std::string> out;
  for (const auto& id : t.ids())
    if (id != leader)
      out.push_back(id);
  return out;
}

/// Proposes a job to the leader and runs until it commits.
std::string commit_one(cluster& t) {
  auto job = t.propose(t.leader());
  REQUIRE(!job.empty());
  REQUIRE(t.run_until([&] { return t.committed(job); }, 10));
  return job;
}

} // namespace

// Raft §5.2, §5.3 and §6 (check-quorum): the two followers stop hearing heartbeats, elect a
// leader of a higher term among themselves and commit with it. The old leader, hearing from no
// majority, steps down at its next quorum check: the check looks back over one election timeout, so
// a leader cut off just after a check notices at the one after (within two timeouts). What it
// accepted while cut off was never replicated: after the heal the new leader's log replaces it.
TEST_CASE("isolate the leader: the majority elects a new one, the old one steps down, its "
          "uncommitted entries are discarded") {
  cluster t(masters(3, 11));
  auto old = elect(t);
  commit_one(t);

  t.isolate(old);
  auto stranded = t.propose(old);
  REQUIRE(!stranded.empty());
  REQUIRE(t.run_until([&] { return t.role(old) != raft::role::leader; }, 2 * election_ticks));

  REQUIRE(
      t.run_until([&] { return !t.leader().empty() && t.leader() != old; }, 4 * election_ticks));
  auto fresh = t.leader();
  REQUIRE(t.term(fresh) > t.term(old));
  auto after = commit_one(t);

  t.heal();
  REQUIRE(t.run_until([&] { return t.converged(); }, 4 * election_ticks));
  CHECK(t.leader() == fresh);
  CHECK_FALSE(t.committed(stranded));
  CHECK_FALSE(t.holds(old, stranded));
  CHECK(t.holds(old, after));
  t.check_states();
}

// Raft §5.3 and §5.4: an entry commits only on a majority of the voters. With five masters split
// 2-3, the side with the old leader keeps it (for a while) but can commit nothing; the side of
// three elects a leader and commits. After the heal the minority's entry is gone everywhere.
TEST_CASE("partition 2-3 in a cluster of five: only the side of three commits") {
  cluster t(masters(5, 21));
  auto old = elect(t);
  commit_one(t);
  auto minority = std::vector<std::string>{old, followers_of(t, old).front()};
  const uint64_t commit_before = t.commit(old);

  t.partition(minority);
  auto stranded = t.propose(old);
  REQUIRE(!stranded.empty());
  REQUIRE(t.run_until(
      [&] {
        auto l = t.leader();
        return !l.empty() && l != minority[0] && l != minority[1];
      },
      6 * election_ticks));
  auto majority_job = commit_one(t);
  t.run_ticks(2 * election_ticks);
  for (const auto& id : minority)
    CHECK(t.commit(id) == commit_before);
  CHECK_FALSE(t.committed(stranded));

  t.heal();
  REQUIRE(t.run_until([&] { return t.converged(); }, 6 * election_ticks));
  CHECK_FALSE(t.committed(stranded));
  for (const auto& id : t.ids()) {
    CHECK_FALSE(t.holds(id, stranded));
    CHECK(t.holds(id, majority_job));
  }
  t.check_states();
}

// Raft §5.3 with a crash inside the ready loop: the follower dies while writing an append, so its
// disk keeps a torn prefix of that batch (at least the last record is lost) and it never acked it.
// The leader and the other follower still commit. Restarted over the same disk, the follower
// recovers what was synced and the leader fills in the rest.
TEST_CASE("restart a follower with a torn tail: it catches up") {
  cluster t(masters(3, 31));
  auto leader = elect(t);
  commit_one(t);
  auto follower = followers_of(t, leader).front();
  t.run_ticks(3); // quiet: every master knows the commit, so the next write is an append

  t.crash(follower, crash_mode::torn_write);
  auto job = commit_one(t);
  REQUIRE_FALSE(t.up(follower));
  CHECK(t.disk(follower).last_index() < t.check().committed_job(job));
  for (int i = 0; i < 5; ++i)
    t.propose(leader);

  t.run_ticks(election_ticks);
  t.restart(follower);
  REQUIRE(t.run_until([&] { return t.converged(); }, 2 * election_ticks));
  CHECK(t.holds(follower, job));
  CHECK(t.leader() == leader);
  t.check_states();
}

// Raft thesis §9.6 (pre-vote): a follower cut off for many election timeouts keeps asking "would
// you vote for me?", which raises no term, so when it rejoins it finds the same term and leader
// and simply follows; nobody is deposed. (Without pre-vote it would come back many terms ahead
// and force an election.)
TEST_CASE("an isolated follower rejoining after many ticks does not disrupt the leader") {
  cluster t(masters(5, 41));
  auto leader = elect(t);
  const uint64_t term = t.term(leader);
  auto loner = followers_of(t, leader).back();

  t.isolate(loner);
  t.run_ticks(20 * election_ticks);
  CHECK(t.term(loner) == term);

  t.heal();
  t.run_ticks(5 * election_ticks);
  CHECK(t.leader() == leader);
  for (const auto& id : t.ids())
    CHECK(t.term(id) == term);
  auto job = commit_one(t);
  REQUIRE(t.run_until([&] { return t.holds(loner, job); }, 5));
}

// Raft §7: a follower down while the leader compacted its log past the follower's last entry can
// only catch up from the leader's snapshot; it installs it, then takes the entries after it, and
// ends with the same state machine as everyone.
TEST_CASE("a master that fell behind a compacted log catches up via a snapshot") {
  cluster t(masters(3, 51, /*snapshot_every=*/10));
  auto leader = elect(t);
  auto behind = followers_of(t, leader).front();
  t.crash(behind);
  for (int i = 0; i < 45; ++i) {
    t.propose(leader);
    t.run_ticks(1);
  }
  t.run_ticks(5);
  REQUIRE(t.master(leader).raft().log().first_index() > t.disk(behind).last_index() + 1);

  t.restart(behind);
  REQUIRE(t.run_until([&] { return t.converged(); }, 4 * election_ticks));
  CHECK(t.snapshots_installed(behind) >= 1);
  auto job = commit_one(t);
  REQUIRE(t.run_until([&] { return t.holds(behind, job); }, 5));
  t.check_states();
}

// claud's hint (raft_node::leader_unreachable): when the connection to the leader closes, its
// followers campaign within a few ticks instead of waiting out a full election timeout (the hint
// comes after the heartbeats the leader sent before it died, as a closed connection reports). Each
// follower waits 1 to 3 ticks so that one usually asks first; when two draw the same delay their
// votes split and the election takes a timeout as without the hint, so the claim is checked over
// several seeds: every hinted follower campaigns within 1 + 3 steps, and most elections end within
// an election timeout, which no unhinted election does.
TEST_CASE("the leader_unreachable hint makes followers campaign within a few ticks") {
  struct timing {
    uint64_t campaign; // steps from the crash until a follower campaigns
    uint64_t elected;  // ... until a new leader is elected
  };
  auto after_leader_crash = [](uint64_t seed, bool hint) {
    auto options = masters(3, seed);
    options.hint_on_crash = hint ? 1 : 0;
    cluster t(options);
    auto old = elect(t);
    t.run_ticks(3);
    const uint64_t crashed_at = t.now();
    t.crash(old);
    auto campaigning = [&] {
      for (const auto& id : followers_of(t, old))
        if (t.role(id) != raft::role::follower)
          return true;
      return false;
    };
    REQUIRE(t.run_until(campaigning, 4 * election_ticks));
    const uint64_t campaign = t.now() - crashed_at;
    REQUIRE(t.run_until([&] { return !t.leader().empty(); }, 4 * election_ticks));
    return timing{campaign, t.now() - crashed_at};
  };
  int fast = 0;
  const int runs = 20;
  for (uint64_t seed = 1; seed <= runs; ++seed) {
    auto hinted = after_leader_crash(seed, true);
    auto unhinted = after_leader_crash(seed, false);
    INFO("seed " << seed << ": hinted campaign " << hinted.campaign << " elected " << hinted.elected
                 << "; unhinted campaign " << unhinted.campaign << " elected " << unhinted.elected);
    CHECK(hinted.campaign <= 1 + 3);
    CHECK(unhinted.campaign >= election_ticks);
    CHECK(unhinted.elected > election_ticks);
    // Campaign, then a pre-vote and a vote round trip of 2 steps each.
    fast += hinted.elected <= 1 + 3 + 4 ? 1 : 0;
  }
  CHECK(fast >= runs / 2);
}

// Raft thesis §4.2.3 (disruptive servers) via check-quorum's lease: a follower that lost only its
// link to the leader times out and asks the others for votes, but they still hear from the leader
// and ignore it, so the leader keeps its term and goes on committing with them. Pre-vote alone
// would not stop it here: its log is as up to date as theirs.
TEST_CASE("a follower cut off from the leader alone cannot depose it") {
  cluster t(masters(3, 91));
  auto leader = elect(t);
  const uint64_t term = t.term(leader);
  auto cut_off = followers_of(t, leader).front();
  t.cut(leader, cut_off);
  t.cut(cut_off, leader);

  t.run_ticks(10 * election_ticks);
  CHECK(t.leader() == leader);
  CHECK(t.term(leader) == term);
  CHECK(t.role(cut_off) != raft::role::leader);
  commit_one(t);
}

// Check-quorum under a one-way partition: the leader's heartbeats still reach the followers (so
// they keep following it and never time out) but nothing comes back. Only the leader can notice:
// it hears from no majority, steps down, stops sending, and then the followers elect a new leader
// among themselves, which commits.
TEST_CASE("one-way partition, the leader can send but not receive: it steps down and a new "
          "leader emerges") {
  cluster t(masters(3, 71));
  auto old = elect(t);
  for (const auto& id : followers_of(t, old))
    t.cut(id, old);

  REQUIRE(t.run_until([&] { return t.role(old) != raft::role::leader; }, 2 * election_ticks + 1));
  REQUIRE(
      t.run_until([&] { return !t.leader().empty() && t.leader() != old; }, 4 * election_ticks));
  commit_one(t);
}

namespace {

/// The live master of `among` that leads, or "".
std::string leader_among(const cluster& t, const std::vector<std::string>& among) {
  for (const auto& id : among)
    if (t.up(id) && t.role(id) == raft::role::leader)
      return id;
  return {};
}

} // namespace

// Raft §5.4.2 and figure 8: a leader never commits an entry of an earlier term by counting its
// replicas. X, proposed in an early term, reaches only two masters; a master A that never saw it
// wins a later term and writes that term's first entry at X's index, then is cut off. A leader of
// a still later term re-sends X until it knows X is on a majority, and crashes before any entry of
// its own term is. X is not committed then: A, whose log ends in a later term than X, can still
// be elected by the masters holding X and overwrite it. Had counting committed X, the checker
// would stop the test when A is elected (a leader without a committed entry).
TEST_CASE("figure 8: an entry of an earlier term on a majority is not committed by counting") {
  auto options = masters(5, 81);
  // X and the new term's first entry travel apart, and rare heartbeats do not pipeline the second
  // right behind the first.
  options.max_entries_per_message = 1;
  options.heartbeat_ticks = 4;
  cluster t(options);
  const auto l1 = elect(t);
  commit_one(t);
  t.run_ticks(3); // every master holds every entry
  const auto rest = followers_of(t, l1);
  const auto f1 = rest[0];
  std::vector<std::string> others(rest.begin() + 1, rest.end());

  t.partition({l1, f1});
  const auto x = t.propose(l1);
  const uint64_t k = t.master(l1).raft().log().last_index();
  const uint64_t x_term = t.term(l1);
  REQUIRE(t.run_until([&] { return !leader_among(t, others).empty(); }, 10 * election_ticks));
  const auto a = leader_among(t, others);
  t.isolate(a); // at once: its first entry, in flight, is lost
  others.erase(std::find(others.begin(), others.end(), a));
  others.insert(others.begin(), a); // a, b, c
  REQUIRE(t.master(a).raft().log().term(k) > x_term);

  t.heal();
  t.isolate(a);
  std::string l2;
  REQUIRE(t.run_until(
      [&] {
        l2 = leader_among(t, {l1, f1});
        return !l2.empty() && t.term(l2) > t.term(a);
      },
      10 * election_ticks));
  const auto o = l2 == l1 ? f1 : l1;
  auto known_on = [&](uint64_t index) { // masters l2 knows to hold `index`, itself included
    size_t n = 1;
    for (const auto& [peer, pr] : t.master(l2).raft().peers())
      n += pr.match >= index ? 1 : 0;
    return n;
  };
  const auto b = others[1], c = others[2];
  auto holds_only_x = [&](const std::string& id) {
    const auto& log = t.master(id).raft().log();
    return log.last_index() == k && log.term(k) == x_term;
  };
  REQUIRE(t.run_until([&] { return holds_only_x(b) && holds_only_x(c); }, 10 * election_ticks));
  t.cut(l2, b); // its own term's entry, in flight to them, is lost
  t.cut(l2, c);
  REQUIRE(t.run_until([&] { return known_on(k) >= 3; }, 5));
  CHECK(known_on(k + 1) < 3);
  CHECK(t.commit(l2) < k); // counting replicas would commit X here
  t.crash(l2);

  t.heal();
  t.isolate(l2); // what it sent before it crashed is lost too
  t.isolate(o);
  REQUIRE(t.run_until([&] { return t.leader() == a; }, 10 * election_ticks));
  commit_one(t);
  CHECK_FALSE(t.committed(x));
  for (const auto& id : others)
    CHECK_FALSE(t.holds(id, x));
}

// etcd-raft's probe state (raft_node.hpp, progress): a follower whose log ends in a tail the
// leader does not have is probed one append at a time until they agree, and only then sent
// appends pipelined. Pipelining at once let the append of every new entry, rejected from the top
// of the leader's log, undo what the probe had found (the follower's rejection names its last
// index, below the leader's): a whole-cluster simulation (claud-sim --whole, seed 5) kept such a
// follower from catching up for as long as the leader was busy.
TEST_CASE("a follower with a long diverging tail catches up under a steady stream of proposals") {
  cluster t(masters(3, 7));
  const auto old = elect(t);
  t.isolate(old);
  for (int i = 0; i < 30; ++i)
    REQUIRE(!t.propose(old).empty()); // a tail that never commits
  REQUIRE(t.run_until(
      [&] {
        auto l = t.leader();
        return !l.empty() && l != old && t.role(old) != raft::role::leader && t.commit(l) > 0
               && t.master(l).raft().log().term(t.commit(l)) == t.term(l);
      },
      40 * election_ticks));
  const auto leader = t.leader();
  for (int i = 0; i < 60; ++i) // the leader's log grows well past the tail
    commit_one(t);
  t.heal();
  const uint64_t target = t.commit(leader) + 1;
  int steps = 0;
  // Probing finds the agreement in a few round trips (3 steps here); pipelining at once took 62.
  for (; steps < 20 && t.commit(old) < target; ++steps) {
    REQUIRE(!t.propose(leader).empty()); // the leader is never idle
    t.step();
  }
  CHECK(t.commit(old) >= target);
  CHECK(t.leader() == leader);
}

// The Raft dissertation §4 (single-server changes), as claud makes them: a master outside the
// cluster is added as a learner, catches up from a snapshot and the log, and is promoted by the
// leader; a second change asked for meanwhile is refused until the first is applied.
TEST_CASE("a master is added as a learner and promoted; a second change waits for the first") {
  auto o = masters(4, 21, 5);
  o.voters = 3;
  cluster t(o);
  auto leader = elect(t);
  for (int i = 0; i < 12; ++i)
    commit_one(t); // past a snapshot: the newcomer needs one
  REQUIRE_FALSE(t.member("m3"));
  REQUIRE(t.change_membership(leader, pb::MembershipChange::ADD_LEARNER, "m3") > 0);
  CHECK(t.change_membership(leader, pb::MembershipChange::REMOVE, "m0") == 0);
  REQUIRE(t.run_until([&] { return t.check().membership().is_voter("m3"); }, // committed
                      10 * election_ticks));
  CHECK(t.snapshots_installed("m3") == 1);
  REQUIRE(t.run_until([&] { return t.converged(); }, 5 * election_ticks));
  // Now the second change goes through: m0 leaves, m3 votes in its place.
  REQUIRE(t.change_membership(t.leader(), pb::MembershipChange::REMOVE, "m0") > 0);
  REQUIRE(t.run_until([&] { return !t.member("m0") && t.leader() != "m0" && !t.leader().empty(); },
                      20 * election_ticks));
  commit_one(t);
  REQUIRE(t.run_until([&] { return t.converged(); }, 5 * election_ticks));
  t.check_states();
  const auto term = t.term("m0");
  t.run_ticks(10 * election_ticks); // m0 is left alone: it never campaigns
  CHECK(t.term("m0") == term);
  CHECK(t.role("m0") == raft::role::follower);
}

// A change in flight when its leader dies: the next leader either holds it (and commits it with
// its first entry) or not (and it never happened); in both cases the change can be asked again
// and the cluster ends with one membership on every master.
TEST_CASE("a membership change in flight when the leader dies is decided by the next leader") {
  for (uint64_t seed = 1; seed <= 6; ++seed) {
    INFO("seed " << seed);
    auto o = masters(4, seed);
    o.voters = 3;
    cluster t(o);
    auto leader = elect(t);
    commit_one(t);
    REQUIRE(t.change_membership(leader, pb::MembershipChange::ADD_LEARNER, "m3") > 0);
    t.flush();
    t.run_ticks(static_cast<int>(seed % 3)); // the change reached none, some or all followers
    t.crash(leader);
    REQUIRE(t.run_until([&] { return !t.leader().empty() && t.leader() != leader; },
                        20 * election_ticks));
    REQUIRE(t.run_until(
        [&] {
          auto l = t.leader();
          if (l.empty())
            return false;
          if (!t.member("m3"))
            t.change_membership(l, pb::MembershipChange::ADD_LEARNER, "m3");
          return t.check().membership().is_voter("m3");
        },
        30 * election_ticks));
    t.restart(leader);
    REQUIRE(t.run_until([&] { return t.converged(); }, 10 * election_ticks));
    t.check_states();
    for (const auto& id : t.ids())
      CHECK(t.master(id).raft().members().voters.size() == 4);
  }
}
