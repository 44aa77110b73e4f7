// A slave dies (SIGKILL) or freezes (SIGSTOP) while it runs a long job: the leader notices (its
// connection closes, or its heartbeats stop), shows the node down, and runs the job again on the
// other slave — or, for a job submitted with --on-node-lost fail, ends it lost with the reason.

#include <csignal>

#include <catch2/catch.hpp>

#include "cluster.hpp"

using namespace claud::test;

namespace {

/// The job prints its own pid, so a test can tell when that process is gone.
const std::vector<std::string> long_job{"sh", "-c", "echo $$; exec sleep 30"};

void wait_node_state(cluster& c, const std::string& node, const std::string& state) {
  json record;
  c.wait_until(
      node + " is shown " + state,
      [&] {
        record = c.node_record(node);
        return !record.is_null() && record["state"].str() == state;
      },
      10s, [&] { return record.dump(); });
}

const std::vector<std::string> pinging{"--ping-interval-ms", "200"};

/// A master that loses a slave after 1 s of silence, and a long job running on its slave s1,
/// which pings every 200 ms. Returns the job's id and the pid of its process.
std::pair<std::string, pid_t> long_job_on_pinging_slave(cluster& c) {
  c.start_master("m", {"--slave-timeout-ms", "1000"});
  c.start_slave("s1", "1", "1G", pinging);
  auto id = c.submit(long_job);
  c.wait_job_state(id, "running");
  return {id, c.wait_printed_pid(id)};
}

} // namespace

TEST_CASE("a job on a SIGKILLed slave runs again on the other slave") {
  cluster c;
  c.start_master("m");
  c.start_slave("s1", "1", "1G");
  auto id = c.submit(long_job, {"--cpus", "0.5"});
  c.wait_job_state(id, "running");
  REQUIRE(c.job(id)["node"].str() == "s1");
  c.start_slave("s2", "1", "1G");

  c.kill("s1", SIGKILL); // its `sleep` is orphaned; the harness ends it at the end of the test
  auto job = c.wait_running_on(id, "s2");
  CHECK(job["attempts"].num() == 2);
  bool lost_on_s1 = false;
  for (const auto& event : job["history"].items())
    lost_on_s1 |= event["state"].str() == "lost" && event["node"].str() == "s1";
  CHECK(lost_on_s1);
  wait_node_state(c, "s1", "down");
}

TEST_CASE("a job submitted with --on-node-lost fail ends lost with its node") {
  cluster c;
  c.start_master("m");
  c.start_slave("s1", "1", "1G");
  auto id = c.submit(long_job, {"--on-node-lost", "fail"});
  c.wait_job_state(id, "running");
  c.kill("s1", SIGKILL);
  auto job = c.wait_job(id, 10s);
  INFO(job.dump());
  CHECK(job["state"].str() == "lost");
  CHECK(job["reason"].str().find("s1") != std::string::npos);
  wait_node_state(c, "s1", "down");
}

TEST_CASE("a frozen slave is lost after the heartbeat timeout, and its old copy stops on SIGCONT") {
  cluster c;
  const auto [id, old_copy] = long_job_on_pinging_slave(c);
  c.start_slave("s2", "1", "1G", pinging);

  c.kill("s1", SIGSTOP); // its connection stays open: only its silence tells
  wait_node_state(c, "s1", "down");
  auto job = c.wait_running_on(id, "s2");
  bool silence_named = false;
  for (const auto& event : job["history"].items())
    silence_named |= !event["reason"].is_null()
                     && event["reason"].str().find("no heartbeat") != std::string::npos;
  CHECK(silence_named);

  c.kill("s1", SIGCONT);
  wait_node_state(c, "s1", "alive");
  // No committed decision explains the old copy any more: the leader has it stopped, so the job
  // does not run twice.
  c.wait_until("the old copy of the job stops", [&] { return ::kill(old_copy, 0) != 0; });
  CHECK(c.job(id)["node"].str() == "s2");
}

TEST_CASE(
    "a frozen lone slave that comes back runs its job's next attempt, and the old copy stops") {
  cluster c;
  const auto [id, old_copy] = long_job_on_pinging_slave(c);

  c.kill("s1", SIGSTOP);
  wait_node_state(c, "s1", "down");
  c.wait_job_state(id, "pending"); // lost, with no other slave to go to
  c.kill("s1", SIGCONT);

  // The leader places attempt 2 on s1 again while s1 still runs attempt 1: the slave stops the
  // old copy, and its exit is not taken for the new attempt's.
  json job;
  c.wait_until(
      "attempt 2 runs on s1",
      [&] {
        job = c.job(id);
        return job["state"].str() == "running" && job["attempts"].num() == 2;
      },
      10s, [&] { return job.dump(); });
  c.wait_until("the old copy of the job stops", [&] { return ::kill(old_copy, 0) != 0; });
  const pid_t new_copy = c.wait_printed_pid(id);
  CHECK(new_copy != old_copy);
  CHECK(::kill(new_copy, 0) == 0);
  job = c.job(id);
  INFO(job.dump());
  CHECK(job["state"].str() == "running");
  CHECK(job["attempts"].num() == 2);
}
