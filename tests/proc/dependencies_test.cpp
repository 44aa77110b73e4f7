// Dependencies (submit --after) and --stdin with real processes: a chain, fan-in and a failure
// running down, a job waiting across a SIGKILLed leader, the refusals, and a job reading a file.
// Jobs wait on files the test creates, so what runs when is the test's doing, not a timing.

#include <csignal>
#include <fstream>

#include <catch2/catch.hpp>

#include "cluster.hpp"

using namespace claud::test;

namespace {

/// A command that runs until `gate` exists, then exits with `code`.
std::vector<std::string> until(const std::string& gate, int code = 0) {
  return {"sh", "-c",
          "while [ ! -e " + gate + " ]; do sleep 0.05; done; exit " + std::to_string(code)};
}

void open_gate(const std::string& gate) {
  std::ofstream{gate} << "go\n";
}

std::string reason_of(const cluster& c, const std::string& id) {
  return c.job(id)["reason"].is_null() ? std::string{} : c.job(id)["reason"].str();
}

} // namespace

TEST_CASE("a chain waits, runs in order, and a failure runs down it") {
  cluster c;
  c.start_dev("d");
  const auto gate = c.root() + "/a.go";
  auto a = c.submit(until(gate));
  c.wait_job_state(a, "running");
  auto b = c.submit({"true"}, {"--after", a});           // after a succeeded
  auto d = c.submit({"true"}, {"--after", b + ":fail"}); // after b did not succeed
  auto e = c.submit({"true"}, {"--after", d + ":any"});  // after d ended, however
  CHECK(c.job(b)["state"].str() == "pending");
  CHECK(reason_of(c, b) == "waits for job " + a + " (running)");
  CHECK(reason_of(c, d) == "waits for job " + b + " (pending)");
  auto b_doc = c.job(b);
  REQUIRE(b_doc["after"].size() == 1);
  CHECK(b_doc["after"][size_t{0}].str() == a + ":ok");
  CHECK(b_doc["waits_for"][size_t{0}].str() == a);

  open_gate(gate);
  CHECK(c.wait_job(a)["state"].str() == "succeeded");
  CHECK(c.wait_job(b)["state"].str() == "succeeded");
  auto failed = c.wait_job(d);
  CHECK(failed["state"].str() == "failed");
  CHECK(failed["attempts"].num() == 0);
  CHECK(failed["reason"].str()
        == "job " + b + " succeeded, and this job was to run only if it did not succeed (--after "
               + b + ":fail)");
  CHECK(c.wait_job(e)["state"].str() == "succeeded");
  CHECK(c.job(e)["attempts"].num() == 1);
}

TEST_CASE("fan-in waits for every job named and fails with the first that fails") {
  cluster c;
  c.start_dev("d");
  const auto gate1 = c.root() + "/1.go";
  const auto gate2 = c.root() + "/2.go";
  auto first = c.submit(until(gate1));
  auto second = c.submit(until(gate2, 3));
  auto all = c.submit({"true"}, {"--after", first, "--after", second});
  auto any = c.submit({"true"}, {"--after", first + ":any", "--after", second + ":any"});
  c.wait_job_state(first, "running");
  c.wait_job_state(second, "running");
  CHECK(reason_of(c, all) == "waits for jobs " + first + " (running) and " + second + " (running)");
  open_gate(gate1);
  c.wait_job(first);
  c.wait_until("job " + all + " waits only for " + second,
               [&] { return reason_of(c, all) == "waits for job " + second + " (running)"; });
  open_gate(gate2);
  auto failed = c.wait_job(all);
  CHECK(failed["state"].str() == "failed");
  CHECK(failed["reason"].str().rfind("job " + second + " failed, and this job", 0) == 0);
  CHECK(c.wait_job(any)["state"].str() == "succeeded");
}

TEST_CASE("a job waiting survives a SIGKILLed leader and runs when its dependency ends") {
  cluster c;
  c.start_masters({"m1", "m2", "m3"});
  c.start_slave("s1", "2", "1G");
  const auto gate = c.root() + "/a.go";
  auto a = c.submit(until(gate));
  c.wait_job_state(a, "running");
  auto b = c.submit({"true"}, {"--after", a});
  auto killed = c.submit({"true"}, {"--after", a});
  REQUIRE(c.run({"kill", killed}).exit_code == 0); // cancelled while it waits
  c.wait_masters_in_sync();
  const auto leader = c.leader_name();
  c.kill(leader, SIGKILL);
  c.leader_other_than(leader);
  CHECK(reason_of(c, b) == "waits for job " + a + " (running)");
  open_gate(gate);
  CHECK(c.wait_job(a)["state"].str() == "succeeded");
  CHECK(c.wait_job(b, 20s)["state"].str() == "succeeded");
  CHECK(c.job(killed)["state"].str() == "killed");
  CHECK(c.job(killed)["attempts"].num() == 0);
}

TEST_CASE("--after refuses a job the cluster does not hold and text that is not a dependency") {
  cluster c;
  c.start_dev("d");
  auto unknown = c.run({"submit", "--after", "999", "--", "true"});
  CHECK(unknown.exit_code != 0);
  CHECK(unknown.err.find("the cluster holds no job 999") != std::string::npos);
  auto malformed = c.run({"submit", "--after", "7:soon", "--", "true"});
  CHECK(malformed.exit_code != 0);
  CHECK(malformed.err.find("the condition must be ok") != std::string::npos);
  auto twice = c.run({"submit", "--after", "1", "--after", "1:any", "--", "true"});
  CHECK(twice.exit_code != 0);
  CHECK(twice.err.find("names job 1 twice") != std::string::npos);
  CHECK(c.jobs().size() == 0); // nothing was submitted
}

TEST_CASE("--stdin feeds a file on the slave to the job; a missing one fails it, saying so") {
  cluster c;
  c.start_dev("d");
  const auto input = c.root() + "/input.txt";
  std::ofstream{input} << "first line\nsecond line\n";
  auto reads = c.submit({"cat"}, {"--stdin", input});
  CHECK(c.wait_job(reads)["state"].str() == "succeeded");
  CHECK(c.run({"logs", reads}).out == "first line\nsecond line\n");
  CHECK(c.job(reads)["stdin"].str() == input);
  auto plain = c.submit({"cat"}); // /dev/null: ends at once
  CHECK(c.wait_job(plain)["state"].str() == "succeeded");
  auto missing = c.submit({"cat"}, {"--stdin", c.root() + "/nothing.txt"});
  auto failed = c.wait_job(missing);
  CHECK(failed["state"].str() == "failed");
  CHECK(failed["reason"].str().find("cannot read " + c.root()
                                    + "/nothing.txt as its standard input (No such file")
        != std::string::npos);
  auto relative = c.run({"submit", "--stdin", "input.txt", "--", "cat"});
  CHECK(relative.exit_code != 0);
  CHECK(relative.err.find("--stdin 'input.txt' must be an absolute path") != std::string::npos);
}
