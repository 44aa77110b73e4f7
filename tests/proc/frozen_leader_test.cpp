// A leader frozen with SIGSTOP for longer than the registration grace and the slave timeout: the
// slaves follow the new leader within about an election timeout (every master tells them of it),
// jobs start again at once, and no running job is restarted or lost because the leader changed.

#include <signal.h>

#include <chrono>
#include <thread>

#include <catch2/catch.hpp>

#include "cluster.hpp"

using namespace claud::test;

namespace {

/// The masters other than `frozen`, as a --cluster value.
std::string others(cluster& c, const std::string& frozen) {
  std::string out;
  for (const auto& name : c.master_names())
    if (name != frozen)
      out += (out.empty() ? "" : ",") + c.address(name);
  return out;
}

bool was_ever_lost(const json& job) {
  for (const auto& event : job["history"].items())
    if (event["state"].str() == "lost")
      return true;
  return false;
}

} // namespace

TEST_CASE("a frozen leader neither stalls new jobs nor restarts running ones") {
  cluster c;
  c.start_masters({"m1", "m2", "m3"});
  c.start_slave("s1", "2", "1G");
  c.start_slave("s2", "2", "1G");
  // --on-node-lost fail: a slave wrongly declared lost would end this job `lost`.
  auto id = c.submit({"sh", "-c", "echo $$; exec sleep 600"}, {"--on-node-lost", "fail"});
  c.wait_job_state(id, "running");
  auto pid = c.wait_printed_pid(id);

  auto frozen = c.leader_name();
  auto alive = others(c, frozen);
  auto frozen_at = std::chrono::steady_clock::now();
  c.kill(frozen, SIGSTOP);

  // The other masters notice the silence and elect one of them (300-600 ms).
  c.wait_until("another master leads", [&] {
    for (const auto& name : c.master_names()) {
      if (name == frozen)
        continue;
      auto r = c.run({"leader", "--json", "--local", "--cluster", c.address(name)}, 5s);
      auto leader = r.exit_code == 0 ? json::parse(r.out)["leader"] : json{};
      if (!leader.is_null() && leader["id"].str() != frozen)
        return true;
    }
    return false;
  });
  // Before the slaves followed the new leader by themselves, this waited for their pings to the
  // frozen one to time out (5 s), and the new leader had declared them lost meanwhile.
  auto r = c.run({"submit", "--wait", "--cluster", alive, "--", "true"}, 20s);
  auto took = std::chrono::steady_clock::now() - frozen_at;
  INFO(r.describe());
  REQUIRE(r.exit_code == 0);
  CHECK(took < 3s);

  // The freeze outlasts the registration grace (1.5 s) and the slave timeout (2 s): the job runs
  // on, its first attempt, and both slaves stay alive.
  json job;
  while (std::chrono::steady_clock::now() - frozen_at < 4s) { // polls until the bound passes
    job = c.run_json({"status", id, "--json", "--cluster", alive});
    INFO(job.dump());
    REQUIRE(job["state"].str() == "running");
    REQUIRE(job["attempts"].num() == 1);
    std::this_thread::sleep_for(100ms);
  }
  for (const auto& node : c.run_json({"nodes", "--json", "--cluster", alive}).items())
    CHECK(node["state"].str() == "alive");

  c.kill(frozen, SIGCONT);
  c.wait_masters_in_sync();
  job = c.job(id);
  INFO(job.dump());
  CHECK(job["state"].str() == "running");
  CHECK(job["attempts"].num() == 1);
  CHECK_FALSE(was_ever_lost(job));
  CHECK(::kill(pid, 0) == 0); // the very process that started before the freeze
}
