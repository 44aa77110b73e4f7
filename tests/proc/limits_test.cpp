// Job limits on real slaves: what a slave states it enforces, a job over its memory ending failed
// with that reason, and a restarted slave ending what its SIGKILLed predecessor's jobs left
// running. Where the slave cannot make cgroups (it says why in `claud nodes`), the checks that need
// them print that reason and pass without checking.

#include <sys/wait.h>

#include <csignal>

#include <catch2/catch.hpp>

#include "cluster.hpp"

using namespace claud::test;

namespace {

/// Whether `node` enforces memory limits; if not, says why the test checks nothing more.
bool enforces_memory(cluster& c, const std::string& node) {
  auto limits = c.node_record(node)["limits"];
  if (limits["memory"].boolean())
    return true;
  WARN("not checked here: " << node << " enforces no memory limit: " << limits["note"].str());
  return false;
}

} // namespace

TEST_CASE("a slave states which limits it enforces, and why not") {
  cluster c;
  c.start_master("m");
  c.start_slave("auto", "1", "1G");
  c.start_slave("off", "1", "1G", {"--cgroups=off"});

  auto limits = c.node_record("auto")["limits"];
  INFO(limits.dump());
  const bool both = limits["memory"].boolean() && limits["cpu"].boolean();
  CHECK(both == limits["note"].str().empty());
  CHECK((limits["mechanism"].str() == "none")
        == (!limits["memory"].boolean() && !limits["cpu"].boolean()));

  auto off = c.node_record("off")["limits"];
  CHECK_FALSE(off["memory"].boolean());
  CHECK_FALSE(off["cpu"].boolean());
  CHECK(off["mechanism"].str() == "none");
  auto table = c.run({"nodes"}).out;
  CHECK(table.find("off: limits not enforced: turned off with --cgroups=off\n")
        != std::string::npos);
}

TEST_CASE("a job over its memory limit ends failed with that reason; one within it succeeds") {
  cluster c;
  c.start_master("m");
  c.start_slave("s1", "1", "1G");
  if (!enforces_memory(c, "s1"))
    return;
  // perl is in every Debian system (perl-base is essential) and allocates exactly as told.
  auto over = c.submit({"perl", "-e", "$x = 'a' x (256 * 1024 * 1024)"}, {"--memory", "32M"});
  auto within = c.submit({"perl", "-e", "$x = 'a' x (8 * 1024 * 1024)"}, {"--memory", "64M"});
  auto failed = c.wait_job(over);
  INFO(failed.dump());
  CHECK(failed["state"].str() == "failed");
  CHECK(failed["reason"].str().find("over its memory limit of 32 MiB") != std::string::npos);
  CHECK(c.wait_job(within)["state"].str() == "succeeded");
}

TEST_CASE("a slave restarted after SIGKILL ends the copies its jobs left running") {
  cluster c;
  c.start_master("m");
  c.start_slave("s1", "1", "1G");
  if (!enforces_memory(c, "s1"))
    return;
  auto id = c.submit({"sh", "-c", "echo $$; exec sleep 30"});
  c.wait_job_state(id, "running");
  const pid_t old_copy = c.wait_printed_pid(id);
  c.kill("s1", SIGKILL);
  REQUIRE(::kill(old_copy, 0) == 0); // orphaned, still running
  c.restart("s1");
  // The orphan is the test's child now (the harness is a subreaper): it ends as our zombie.
  c.wait_until("the old copy stops", [&] {
    return ::waitpid(old_copy, nullptr, WNOHANG) == old_copy || ::kill(old_copy, 0) != 0;
  });
}
