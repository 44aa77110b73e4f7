// Masters added and removed while the cluster runs (the Raft dissertation's single-server
// changes), with real processes: a fourth master started with --joining stays out of the votes
// until `claud masters add` makes it a learner and it has caught up, the first master leaves with
// `claud masters remove`, and the three left (the newcomer among them) elect a leader when theirs
// is SIGKILLed. Clients submit throughout; every acknowledged job ends.

#include <atomic>
#include <csignal>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include "cluster.hpp"

using namespace claud::test;

namespace {

/// The role `leader --json` gives `address`, or "" when it is not listed.
std::string role_of(const json& info, const std::string& address) {
  for (const auto& m : info["masters"].items())
    if (m["address"].str() == address)
      return m["role"].str();
  return {};
}

} // namespace

TEST_CASE("a master is added as a learner and votes once caught up; the first one leaves") {
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
  CHECK(role_of(alone, m4) == "not a member");
  CHECK(role_of(c.run_json({"leader", "--json"}), m4).empty());

  auto added = c.run_json({"masters", "add", m4, "--json"});
  const auto role_after_add = role_of(added, m4);
  CHECK((role_after_add == "learner" || role_after_add == "follower"));
  c.wait_until("m4 has caught up and votes", [&] {
    return role_of(c.run_json({"leader", "--json"}), m4) == "follower";
  });
  // One change at a time, and a master is added once.
  auto again = c.run({"masters", "add", m4});
  CHECK(again.exit_code != 0);
  CHECK(again.err.find("already a voting master") != std::string::npos);
  auto bad = c.run({"masters", "add", "not-an-address"});
  CHECK(bad.exit_code != 0);
  CHECK(bad.err.find("not-an-address") != std::string::npos);

  // The first master leaves, named by its node id, and is stopped; the rest carry on.
  auto removed = c.run_json({"masters", "remove", "m1", "--json"});
  CHECK(role_of(removed, c.address("m1")).empty());
  const auto before = acknowledged_count();
  c.wait_until("writes go on without m1", [&] { return acknowledged_count() >= before + 5; });
  CHECK(c.stop("m1", 10s));
  auto unknown = c.run({"masters", "remove", "m1"});
  CHECK(unknown.exit_code != 0);
  CHECK(unknown.err.find("not a master of this cluster") != std::string::npos);

  // Voters are m2, m3 and m4 now: the leader dies, and two of three elect the next one.
  auto leader = c.leader_name();
  REQUIRE(leader != "m1");
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
  CHECK(role_of(info, m4) != "learner");
  CHECK(role_of(info, c.address("m1")).empty());
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
