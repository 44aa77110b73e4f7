// A slave dies (SIGKILL) or freezes (SIGSTOP) while it runs a long job: the master notices, the
// job ends lost with a reason that names the node or the cause, and the node is shown down.

#include <csignal>

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

TEST_CASE("a frozen slave is lost after the heartbeat timeout, and its old copy stops on SIGCONT") {
  cluster c;
  c.start_master("m", {"--slave-timeout-ms", "1000"});
  c.start_slave("s1", "1", "1G", {"--ping-interval-ms", "200"});

  // The job prints its own pid, so the test can tell when the process is gone.
  auto id = c.submit({"sh", "-c", "echo $$; exec sleep 30"});
  c.wait_job_state(id, "running");
  std::string pid_text;
  c.wait_until("the job printed its pid", [&] {
    auto r = c.run({"logs", id});
    pid_text = r.out;
    return r.exit_code == 0 && pid_text.find('\n') != std::string::npos;
  });
  const pid_t pid = std::stoi(pid_text);

  c.kill("s1", SIGSTOP); // its connection stays open: only its silence tells
  auto job = c.wait_job(id, 10s);
  INFO(job.dump());
  CHECK(job["state"].str() == "lost");
  CHECK(job["reason"].str().find("no heartbeat") != std::string::npos);
  CHECK(c.node_record("s1")["state"].str() == "down");

  c.kill("s1", SIGCONT);
  c.wait_until("s1 registers again", [&] { return c.node_record("s1")["state"].str() == "alive"; });
  // No committed decision explains the old process any more: the leader has it stopped.
  c.wait_until("the old copy of the job stops", [&] { return ::kill(pid, 0) != 0; });
  CHECK(c.job(id)["state"].str() == "lost");
}
