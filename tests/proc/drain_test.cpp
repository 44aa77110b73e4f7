// `claud drain`: a drained slave takes no new jobs; with --migrate its running jobs move to another
// slave and their old processes stop; --undo takes it back.

#include <csignal>

#include <catch2/catch.hpp>

#include "cluster.hpp"

using namespace claud::test;

TEST_CASE("drain keeps jobs away, --migrate moves them, --undo takes the node back") {
  cluster c;
  c.start_master("m");
  c.start_slave("s1", "1", "1G");
  auto id = c.submit({"sh", "-c", "echo $$; exec sleep 30"});
  c.wait_job_state(id, "running");
  const pid_t old_copy = c.wait_printed_pid(id);
  c.start_slave("s2", "1", "1G");

  auto drained = c.run_json({"drain", "s2"});
  CHECK(drained["draining"].boolean());
  CHECK(c.run({"nodes"}).out.find("drain") != std::string::npos);
  auto other = c.submit({"true"}, {"--cpus", "0.5"});
  CHECK(c.wait_job(other)["node"].str() == "s1"); // s2 is drained, so s1 it is

  REQUIRE(c.run({"drain", "s2", "--undo"}).exit_code == 0);
  REQUIRE(c.run({"drain", "s1", "--migrate"}).exit_code == 0);
  c.wait_running_on(id, "s2");
  c.wait_until("the old copy on s1 stops", [&] { return ::kill(old_copy, 0) != 0; });

  auto refused = c.run({"drain", "nosuchnode"});
  CHECK(refused.exit_code != 0);
  CHECK(refused.err.find("nosuchnode") != std::string::npos);
  auto contradiction = c.run({"drain", "s1", "--migrate", "--undo"});
  CHECK(contradiction.exit_code != 0);
}
