// A leader cut off from the other masters by the network (three hosts in network namespaces,
// hosts.hpp; the test process still reaches all three, as a client on another link would): a
// client that names the cut-off master first still gets its submission acknowledged, once,
// through the majority's new leader instead of hearing "no leader" from the cut-off one until it
// gives up; after the cut heals, the old leader follows the new one. Skipped, saying why, where
// namespaces cannot be made.

#include <catch2/catch.hpp>

#include "cluster.hpp"

using namespace claud::test;

TEST_CASE("a client of a master cut off from the others is served by the majority's leader") {
  cluster c;
  if (auto why = c.use_hosts(3); !why.empty()) {
    WARN("skipped: " << why);
    return;
  }
  c.use_tls();
  c.start_masters({"m1", "m2", "m3"});
  const auto cut_off = c.leader_name();
  std::string addresses = c.address(cut_off); // the cut-off master first
  for (const auto& name : c.master_names())
    if (name != cut_off) {
      c.hosts()->cut(c.node(cut_off).host, c.node(name).host);
      addresses += "," + c.address(name);
    }

  // No slave: the job stays pending, but its submission is acknowledged once a leader commits it.
  auto r = c.run({"submit", "--json", "--cluster", addresses, "--", "true"}, 30s);
  INFO(r.describe());
  REQUIRE(r.exit_code == 0);
  const auto id = json::parse(r.out)["id"].str();
  auto info = c.run_json({"leader", "--json", "--cluster", addresses});
  const auto leader = info["leader"]["id"].str();
  CHECK(leader != cut_off);
  CHECK_FALSE(leader.empty());
  // Retried through the cut, the submission made one job (its idempotency key).
  auto jobs = c.run_json({"jobs", "--json", "--cluster", addresses});
  REQUIRE(jobs.size() == 1);
  CHECK(jobs[0]["id"].str() == id);

  for (const auto& name : c.master_names())
    if (name != cut_off)
      c.hosts()->heal(c.node(cut_off).host, c.node(name).host);
  c.wait_until("the old leader follows the new one", [&] {
    auto local = c.run({"leader", "--json", "--local", "--cluster", c.address(cut_off)}, 5s);
    return local.exit_code == 0
           && master_role(json::parse(local.out), c.address(cut_off)) == "follower";
  });
  c.wait_masters_in_sync();
}
