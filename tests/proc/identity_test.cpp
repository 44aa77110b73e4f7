// A second slave started with a live slave's --node-id (its own data dir and port) is refused on
// both sides with one clear line and stops; the real slave keeps its job, which runs once. Before,
// the newcomer took over the identity and job 1 ran on both at once.

#include <signal.h>

#include <catch2/catch.hpp>

#include "cluster.hpp"

using namespace claud::test;

TEST_CASE("a slave claiming a live slave's node id is refused and stops") {
  cluster c;
  c.start_master("m");
  c.start_slave("s1", "1", "1G");
  auto id = c.submit({"sh", "-c", "echo $$; exec sleep 60"});
  c.wait_job_state(id, "running");
  auto pid = c.wait_printed_pid(id);

  auto impostor = c.run_raw({"--role=slave", "--node-id", "s1", "--listen",
                             "127.0.0.1:" + std::to_string(cluster::free_port()), "--join",
                             c.address("m"), "--data-dir", c.root() + "/impostor"},
                            15s);
  INFO(impostor.describe());
  CHECK_FALSE(impostor.timed_out);
  CHECK(impostor.exit_code == 1);
  CHECK(impostor.err.find("claud: error: node id s1 belongs to a live node with another data dir")
        != std::string::npos);
  CHECK(c.node_stderr("m").find("refused a registration under a live node's id")
        != std::string::npos);

  auto job = c.job(id);
  CHECK(job["state"].str() == "running");
  CHECK(job["attempts"].num() == 1);
  CHECK(::kill(pid, 0) == 0);
  CHECK(c.node_record("s1")["address"].str() == c.address("s1"));

  // The same data dir restarted is the same node, and is welcome.
  c.restart("s1");
  CHECK(c.node_record("s1")["state"].str() == "alive");
}
