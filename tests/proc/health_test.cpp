// Health, as an operator reads it on a real cluster: `claud leader` shows each master's claud,
// TLS, leader knowledge and data dir, a frozen master as not answering and a master whose data dir
// vanished as unhealthy with the reason; `claud nodes` shows how long ago the leader last heard
// from each slave, growing while one is frozen.

#include <signal.h>

#include <filesystem>

#include <catch2/catch.hpp>

#include "cluster.hpp"

using namespace claud::test;

namespace {

/// The `leader --json` entry of the master at `address` (throws if it is not listed).
json master_entry(const json& info, const std::string& address) {
  for (const auto& m : info["masters"].items())
    if (m["address"].str() == address)
      return m;
  throw std::runtime_error("leader --json does not list " + address + ": " + info.dump());
}

std::string version_of_binary(const cluster& c) {
  auto r = c.run_raw({"--version"});
  INFO(r.describe());
  REQUIRE(r.exit_code == 0);
  return r.out.substr(0, r.out.find('\n'));
}

/// How long ago the leader last heard from `node_id`, in seconds; -1 when `nodes` says null.
double heard_seconds_ago(const cluster& c, const std::string& node_id) {
  auto heard = c.node_record(node_id)["heard_seconds_ago"];
  return heard.is_null() ? -1 : heard.num();
}

} // namespace

TEST_CASE("claud leader shows every master's health, and claud nodes when each was last heard") {
  cluster c;
  // A slave frozen for a second must not be lost meanwhile.
  c.start_masters({"m1", "m2", "m3"}, {"--slave-timeout-ms", "5000"});
  c.start_slave("s1", "1", "1G");
  const auto version = version_of_binary(c);
  REQUIRE_FALSE(version.empty());

  auto info = c.run_json({"leader", "--json"});
  for (const auto& name : c.master_names()) {
    auto health = master_entry(info, c.address(name))["health"];
    INFO(name << ": " << health.dump());
    CHECK(health["answered"].boolean());
    CHECK(health["version"].str() == version);
    CHECK_FALSE(health["tls"].boolean());
    CHECK(health["leader_known"].boolean());
    CHECK(health["data_dir_writable"].boolean());
    CHECK(health["disk_free_bytes"].num() > 0);
    CHECK(health["problem"].str().empty());
  }
  auto table = c.run({"leader"});
  INFO(table.describe());
  REQUIRE(table.exit_code == 0);
  CHECK(table.out.find(" CLAUD      HEALTH\n") != std::string::npos);
  CHECK(table.out.find(" " + version + "      ok\n") != std::string::npos);

  // A slave pings every 500 ms; frozen, the leader's last word from it ages until it is back.
  CHECK(heard_seconds_ago(c, "s1") >= 0);
  CHECK(heard_seconds_ago(c, "s1") < 1.0);
  CHECK(c.node_record("s1")["version"].str() == version);
  c.kill("s1", SIGSTOP);
  c.wait_until(
      "the leader has not heard from the frozen slave for a second",
      [&] { return heard_seconds_ago(c, "s1") >= 1.0; }, 4s);
  c.kill("s1", SIGCONT);
  c.wait_until("the leader hears from the slave again", [&] {
    auto heard = heard_seconds_ago(c, "s1");
    return heard >= 0 && heard < 1.0;
  });
  CHECK(c.node_record("s1")["state"].str() == "alive");
  // Asked a follower, `nodes` still shows the leader's account.
  auto leader = c.leader_name();
  for (const auto& name : c.master_names())
    if (name != leader) {
      auto nodes = c.run_json({"nodes", "--json", "--cluster", c.address(name)});
      for (const auto& node : nodes.items())
        if (node["id"].str() == "s1")
          CHECK_FALSE(node["heard_seconds_ago"].is_null());
      break;
    }
}

TEST_CASE("a frozen master shows as not answering, one without its data dir as unhealthy") {
  cluster c;
  c.start_masters({"m1", "m2", "m3"});
  auto leader = c.leader_name();
  std::vector<std::string> followers;
  for (const auto& name : c.master_names())
    if (name != leader)
      followers.push_back(name);
  REQUIRE(followers.size() == 2);

  c.kill(followers[0], SIGSTOP);
  auto info = c.run_json({"leader", "--json", "--cluster", c.address(leader)});
  auto frozen = master_entry(info, c.address(followers[0]))["health"];
  INFO(info.dump());
  CHECK_FALSE(frozen["answered"].boolean());
  CHECK(frozen["problem"].str().find("did not answer within") != std::string::npos);
  CHECK(master_entry(info, c.address(leader))["health"]["answered"].boolean());
  auto table = c.run({"leader", "--cluster", c.address(leader)});
  CHECK(table.out.find(" no answer\n") != std::string::npos);
  CHECK(table.out.find(followers[0] + ": did not answer within") != std::string::npos);
  c.kill(followers[0], SIGCONT);

  // An operator's mistake: the data dir removed under a running master. It says so.
  std::filesystem::remove_all(c.node(followers[1]).data_dir);
  json wiped;
  c.wait_until(
      "the leader shows the master without its data dir as unhealthy",
      [&] {
        info = c.run_json({"leader", "--json", "--cluster", c.address(leader)});
        wiped = master_entry(info, c.address(followers[1]))["health"];
        return wiped["answered"].boolean() && !wiped["data_dir_writable"].boolean();
      },
      10s, [&] { return info.dump(); });
  CHECK(wiped["problem"].str()
        == "data dir " + c.node(followers[1]).data_dir
               + " is not writable (No such file or directory); nothing can be stored there");
  // Asked itself (--local), it says the same.
  auto local = c.run_json({"leader", "--json", "--local", "--cluster", c.address(followers[1])});
  CHECK(master_entry(local, c.address(followers[1]))["health"]["problem"].str()
        == wiped["problem"].str());
}
