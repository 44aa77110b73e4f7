// Masters added and removed while the cluster runs (the Raft dissertation's single-server
// changes), with real processes: a fourth master started with --joining stays out of the votes
// until `claud masters add` makes it a learner and it has caught up, the leader removes itself with
// `claud masters remove` (and clients still reaching it are sent on), and the three left (the
// newcomer among them) elect a leader when theirs is SIGKILLed. A client submits throughout;
// every acknowledged job ends. A master restarted with its data dir lost rejoins by itself: out of
// the membership, back as a learner, a voter once caught up.

#include <atomic>
#include <csignal>
#include <filesystem>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include "cluster.hpp"

using namespace claud::test;

TEST_CASE("a master is added as a learner and votes once caught up; the leader leaves") {
  cluster c;
  c.start_masters({"m1", "m2", "m3"});
  c.start_slave("s1", "4", "4G");
  const auto first_three = c.cluster_address();

  std::mutex mutex;
  std::set<std::string> acknowledged;
  std::atomic<bool> stop{false};
  std::thread client([&] {
    while (!stop) {
      auto r = c.run({"submit", "--cpus", "0.1", "--", "sleep", "0.05"}, 20s);
      std::lock_guard<std::mutex> lock(mutex);
      if (r.exit_code == 0)
        acknowledged.insert(r.out.substr(0, r.out.find('\n')));
    }
  });
  struct joiner {
    std::atomic<bool>& stop;
    std::thread& thread;
    ~joiner() {
      stop = true;
      if (thread.joinable())
        thread.join();
    }
  } join_client{stop, client};
  auto acknowledged_count = [&] {
    std::lock_guard<std::mutex> lock(mutex);
    return acknowledged.size();
  };
  c.wait_until("jobs are acknowledged", [&] { return acknowledged_count() >= 5; });

  // Started with the cluster's masters but not itself: no member, no vote, no campaign.
  c.start_master("m4", {"--joining", "--join", first_three});
  const auto m4 = c.address("m4");
  auto alone = c.run_json({"leader", "--local", "--json", "--cluster", m4});
  CHECK(master_role(alone, m4) == "not a member");
  CHECK(master_role(c.run_json({"leader", "--json"}), m4).empty());

  auto added = c.run_json({"masters", "add", m4, "--json"});
  const auto role_after_add = master_role(added, m4);
  CHECK((role_after_add == "learner" || role_after_add == "follower"));
  c.wait_until("m4 has caught up and votes", [&] {
    return master_role(c.run_json({"leader", "--json"}), m4) == "follower";
  });
  // One change at a time, and a master is added once.
  auto again = c.run({"masters", "add", m4});
  CHECK(again.exit_code != 0);
  CHECK(again.err.find("already a voting master") != std::string::npos);
  auto bad = c.run({"masters", "add", "not-an-address"});
  CHECK(bad.exit_code != 0);
  CHECK(bad.err.find("not-an-address") != std::string::npos);

  // The leader removes itself (named by its node id): it answers once the removal commits,
  // listing itself outside the membership, then steps down; the others elect a leader, and the
  // client, which may still reach it, is sent on to them.
  const auto first_leader = c.leader_name();
  auto removed = c.run_json(
      {"masters", "remove", first_leader, "--json", "--cluster", c.address(first_leader)});
  CHECK(master_role(removed, c.address(first_leader)) == "not a member");
  const auto before = acknowledged_count();
  c.wait_until(
      "writes go on without the removed master", [&] { return acknowledged_count() >= before + 5; },
      20s);
  // Asked first, the removed master sends the client on to the next address.
  auto outside = c.run({"jobs", "--cluster", c.address(first_leader) + "," + c.address("m4")});
  CHECK(outside.exit_code == 0);
  CHECK(c.stop(first_leader, 10s));
  auto unknown = c.run({"masters", "remove", first_leader});
  CHECK(unknown.exit_code != 0);
  CHECK(unknown.err.find("not a master of this cluster") != std::string::npos);

  // Three voters are left, m4 among them: the leader dies, and two of three elect the next one.
  auto leader = c.leader_name();
  REQUIRE(leader != first_leader);
  c.kill(leader, SIGKILL);
  const auto after_kill = acknowledged_count();
  c.wait_until(
      "writes go on after the leader died", [&] { return acknowledged_count() >= after_kill + 5; },
      30s);
  auto next = c.leader_name();
  CHECK(next != leader);
  stop = true;
  client.join();

  auto info = c.run_json({"leader", "--json"});
  CHECK(master_role(info, m4) != "learner");
  CHECK(master_role(info, c.address(first_leader)).empty());
  std::vector<std::string> ids(acknowledged.begin(), acknowledged.end());
  REQUIRE(ids.size() >= 15);
  std::vector<std::string> wait{"wait", "--json"};
  wait.insert(wait.end(), ids.begin(), ids.end());
  auto ended = c.run_json(wait, 60s);
  for (const auto& job : ended.items()) {
    INFO("job " << job["id"].str());
    CHECK(job["state"].str() == "succeeded");
  }
}

TEST_CASE("a master whose data dir was lost rejoins as a learner and votes once caught up") {
  cluster c;
  c.start_masters({"m1", "m2", "m3"});
  c.start_slave("s1", "4", "4G");
  std::vector<std::string> acknowledged;
  for (int i = 0; i < 5; ++i)
    acknowledged.push_back(c.submit({"true"}));
  auto leader = c.leader_name();
  std::string lost;
  for (const auto& name : c.master_names())
    if (name != leader)
      lost = name;

  // Its vote of the last terms went with its disk: it must not vote as the voter it was.
  c.kill(lost, SIGKILL);
  std::filesystem::remove_all(c.node(lost).data_dir);
  acknowledged.push_back(c.submit({"true"}));
  c.restart(lost);
  CHECK(c.node_stderr(lost).find("it rejoins as a learner") != std::string::npos);
  c.wait_until(
      "the master that lost its data dir votes again",
      [&] {
        return master_role(c.run_json({"leader", "--json"}), c.address(lost)) == "follower";
      },
      15s, [&] { return c.run({"leader"}).out; });
  c.wait_masters_in_sync();
  // Through the log: out of the membership before it listened, then back in as a learner.
  const auto leader_log = c.node_stderr(leader);
  CHECK(leader_log.find("change=REMOVE master=" + c.address(lost)) != std::string::npos);
  CHECK(leader_log.find("change=ADD_LEARNER master=" + c.address(lost)) != std::string::npos);
  CHECK(c.run_json({"status", acknowledged.front(), "--json", "--local", "--cluster",
                    c.address(lost)})["id"]
            .str()
        == acknowledged.front());

  // It is a voter like the others: with the leader SIGKILLed, it and the third elect one.
  c.kill(leader, SIGKILL);
  acknowledged.push_back(c.submit({"true"}));
  CHECK(c.leader_name() != leader);
  for (const auto& id : acknowledged)
    CHECK(c.wait_job(id)["state"].str() == "succeeded");
}
