// A slave dies (SIGKILL) while it runs a long job: the master notices, the job ends lost with a
// reason that names the node, and the node is shown down.

#include <catch2/catch.hpp>

#include "cluster.hpp"

using namespace claud::test;

TEST_CASE("a job on a SIGKILLed slave ends lost and the slave is shown down") {
  cluster c;
  c.start_master("m");
  c.start_slave("s1", "1", "1G");

  auto id = c.submit({"sleep", "30"});
  c.wait_job_state(id, "running");
  c.kill("s1", SIGKILL); // its `sleep` is orphaned; the harness ends it at the end of the test

  auto job = c.wait_job(id, 10s);
  INFO(job.dump());
  CHECK(job["state"].str() == "lost");
  CHECK(!job["reason"].is_null());
  if (!job["reason"].is_null())
    CHECK(job["reason"].str().find("s1") != std::string::npos);

  json s1;
  c.wait_until(
    "s1 is shown down",
    [&] {
      s1 = c.node_record("s1");
      return !s1.is_null() && s1["state"].str() == "down";
    },
    10s, [&] { return s1.dump(); });
  // A node that is down offers nothing to the scheduler; `nodes` still lists it.
  auto table = c.run({"nodes"});
  INFO(table.describe());
  CHECK(table.exit_code == 0);
  CHECK(table.out.find("s1") != std::string::npos);
  CHECK(table.out.find("down") != std::string::npos);
}
