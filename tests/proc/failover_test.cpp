// Several real masters electing a leader with raft (DESIGN.md section 5, level 4): leaders
// SIGKILLed while clients submit (every submission answered: the client retries with its key), a
// 5-master cluster losing 2 and then 3 masters, and a leader frozen with SIGSTOP. What a client saw
// acknowledged is never lost, on any master.

#include <atomic>
#include <csignal>
#include <filesystem>
#include <functional>
#include <future>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include "cluster.hpp"

using namespace claud::test;

namespace {

/// The ids of the jobs a master holds in its own copy of the state.
std::set<std::string> job_ids_on(const cluster& c, const std::string& address) {
  std::set<std::string> ids;
  for (const auto& job : c.run_json({"jobs", "--local", "--cluster", address}).items())
    ids.insert(job["id"].str());
  return ids;
}

/// Runs `body` in a thread per client and joins them, also when the test fails half-way.
struct client_threads {
  std::vector<std::thread> threads;
  ~client_threads() {
    for (auto& t : threads)
      if (t.joinable())
        t.join();
  }
};

} // namespace

TEST_CASE("leaders SIGKILLed while clients submit lose no acknowledged job") {
  cluster c;
  c.start_masters({"m1", "m2", "m3"});
  c.start_slave("s1", "4", "4G");

  std::mutex mutex;
  std::set<std::string> acknowledged;
  std::vector<std::string> failed; // every submission is retried with its key: none may fail
  std::atomic<bool> stop{false};
  {
    client_threads clients;
    for (int i = 0; i < 3; ++i)
      clients.threads.emplace_back([&] {
        while (!stop) {
          auto r = c.run({"submit", "--cpus", "0.1", "--", "true"}, 20s);
          std::lock_guard<std::mutex> lock(mutex);
          if (r.exit_code == 0)
            acknowledged.insert(r.out.substr(0, r.out.find('\n')));
          else
            failed.push_back(r.describe());
        }
      });
    // Three leaders die one after another, each restarted before the next is killed.
    for (int round = 0; round < 3; ++round) {
      auto leader = c.leader_name();
      c.wait_until("clients get writes acknowledged", [&] {
        std::lock_guard<std::mutex> lock(mutex);
        return acknowledged.size() >= static_cast<size_t>(5 * (round + 1));
      });
      c.kill(leader, SIGKILL);
      auto next = c.leader_name();
      CHECK(next != leader);
      c.restart(leader);
    }
    stop = true;
  }
  REQUIRE(acknowledged.size() >= 15);
  INFO((failed.empty() ? std::string{} : failed.front()));
  CHECK(failed.empty());
  c.wait_masters_in_sync();
  for (const auto& name : c.master_names()) {
    auto held = job_ids_on(c, c.address(name));
    for (const auto& id : acknowledged)
      CHECK(held.count(id) == 1);
  }
  // The restarted leaders rejoined as followers: exactly one master leads.
  auto info = c.run_json({"leader"});
  int leaders = 0;
  for (const auto& m : info["masters"].items())
    leaders += m["role"].str() == "leader" ? 1 : 0;
  CHECK(leaders == 1);
}

TEST_CASE("5 masters survive 2 deaths, refuse writes without a majority, and resume") {
  cluster c;
  c.start_masters({"m1", "m2", "m3", "m4", "m5"});
  auto first = c.submit({"true"});

  // Two masters die, the leader among them: the three left elect a leader and take writes.
  auto leader = c.leader_name();
  std::vector<std::string> dead{leader};
  for (const auto& name : c.master_names())
    if (name != leader && dead.size() < 2)
      dead.push_back(name);
  for (const auto& name : dead)
    c.kill(name, SIGKILL);
  auto second = c.submit({"true"});

  // A third death leaves no majority: writes fail with a clear error naming the cause.
  for (const auto& name : c.master_names())
    if (std::find(dead.begin(), dead.end(), name) == dead.end()) {
      c.kill(name, SIGKILL);
      dead.push_back(name);
      break;
    }
  auto refused = c.run({"submit", "--", "true"}, 30s);
  CHECK(refused.exit_code != 0);
  CHECK(refused.err.find("majority") != std::string::npos);

  // One master back makes a majority again: writes resume, and nothing acknowledged is lost.
  c.restart(dead.back());
  auto third = c.submit({"true"});
  auto ids = job_ids_on(c, c.cluster_address());
  for (const auto& id : {first, second, third})
    CHECK(ids.count(id) == 1);
}

TEST_CASE("a frozen leader is replaced, and steps down when it resumes") {
  cluster c;
  c.start_masters({"m1", "m2", "m3"});
  auto frozen = c.leader_name();
  c.kill(frozen, SIGSTOP);
  // The others notice its silence (no connection closes) and elect another leader.
  auto next = c.leader_name();
  CHECK(next != frozen);
  auto id = c.submit({"true"});
  c.kill(frozen, SIGCONT);
  c.wait_until("the resumed master follows", [&] {
    auto r = c.run({"leader", "--json", "--local", "--cluster", c.address(frozen)}, 5s);
    if (r.exit_code != 0)
      return false;
    for (const auto& m : json::parse(r.out)["masters"].items())
      if (m["address"].str() == c.address(frozen))
        return m["role"].str() == "follower";
    return false;
  });
  c.wait_masters_in_sync();
  CHECK(job_ids_on(c, c.address(frozen)).count(id) == 1);
}

TEST_CASE("a master that lost its data dir rejoins empty and catches up") {
  cluster c;
  c.start_masters({"m1", "m2", "m3"});
  std::set<std::string> ids;
  for (int i = 0; i < 5; ++i)
    ids.insert(c.submit({"true"}));
  std::string follower;
  auto leader = c.leader_name();
  for (const auto& name : c.master_names())
    if (name != leader)
      follower = name;
  c.kill(follower, SIGKILL);
  std::filesystem::remove_all(c.node(follower).data_dir);
  ids.insert(c.submit({"true"}));
  c.restart(follower);
  c.wait_masters_in_sync();
  auto held = job_ids_on(c, c.address(follower));
  for (const auto& id : ids)
    CHECK(held.count(id) == 1);
}

TEST_CASE("claud wait for several jobs outlives the leader's SIGKILL") {
  cluster c;
  c.start_masters({"m1", "m2", "m3"});
  c.start_slave("s1", "2", "1G");
  std::vector<std::string> wait_args{"wait", "--cluster", c.cluster_address()};
  std::vector<std::string> ids;
  for (const auto* code : {"0", "0", "4"}) {
    ids.push_back(c.submit({"sh", "-c", std::string{"sleep 2; exit "} + code}));
    wait_args.push_back(ids.back());
  }
  // Running in a thread; the leader dies while the wait is held there, or before it arrives:
  // either way the client finds the new leader and asks again.
  auto waiting = std::async(std::launch::async, [&c, wait_args] { return c.run_raw(wait_args); });
  for (const auto& id : ids)
    c.wait_job_state(id, "running");
  c.kill(c.leader_name(), SIGKILL);
  auto r = waiting.get();
  INFO(r.describe());
  CHECK(r.exit_code == 4);
  CHECK(r.out == ids[0] + " succeeded\n" + ids[1] + " succeeded\n" + ids[2] + " failed\n");
}
