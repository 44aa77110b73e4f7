// A dev node (master and slave in one process) runs jobs end to end through the real CLI: submit
// --wait, logs (stdout and --stderr), and the documented --json documents of status, jobs and
// nodes; logs --follow; kill with its grace period; retention of ended jobs and their output; an
// attempt an earlier run of the slave started is never started again.

#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <fstream>

#include <catch2/catch.hpp>

#include "cluster.hpp"

using namespace claud::test;

namespace {

// The documented --json schema (README, src/proto/views.proto).
const char* job_fields[]
    = {"id",           "name",       "state",       "exit_code", "signal",  "node", "attempts",
       "submitted_at", "started_at", "finished_at", "reason",    "command", "cpus", "memory_bytes"};
const char* node_fields[] = {"id",
                             "role",
                             "address",
                             "state",
                             "cpus_total",
                             "cpus_free",
                             "memory_total_bytes",
                             "memory_free_bytes"};

bool is_utc_time(const json& value) {
  auto text = value.str();
  return text.size() >= 20 && text[4] == '-' && text[10] == 'T' && text.back() == 'Z';
}

} // namespace

// One node for all checks: each block below is independent of the others' results.
TEST_CASE("a dev node runs a job, keeps its output and describes it in JSON") {
  cluster c;
  c.start_dev("dev");

  auto submitted = c.run({"submit", "--wait", "--", "echo", "hello"});
  INFO(submitted.describe());
  REQUIRE(submitted.exit_code == 0);
  // Without --json, `submit --wait` prints the job id first.
  auto id = submitted.out.substr(0, submitted.out.find('\n'));
  REQUIRE(!id.empty());

  auto logs = c.run({"logs", id});
  INFO(logs.describe());
  REQUIRE(logs.exit_code == 0);
  CHECK(logs.out == "hello\n");

  {
    // `status --json` has every documented field.
    auto job = c.job(id);
    INFO(job.dump());
    for (auto field : job_fields)
      CHECK(job.has(field));
    CHECK(job["id"].str() == id);
    CHECK(job["name"].str() == "echo");
    CHECK(job["state"].str() == "succeeded");
    CHECK(job["exit_code"].num() == 0);
    CHECK(job["node"].str() == "dev");
    CHECK(job["attempts"].num() == 1);
    CHECK(is_utc_time(job["submitted_at"]));
    CHECK(is_utc_time(job["started_at"]));
    CHECK(is_utc_time(job["finished_at"]));
    CHECK(job["reason"].is_null());
    CHECK(job["signal"].is_null());
    REQUIRE(job["command"].size() == 2);
    CHECK(job["command"][0].str() == "echo");
    CHECK(job["command"][1].str() == "hello");
    CHECK(job["cpus"].num() == Approx(0.1)); // the defaults
    CHECK(job["memory_bytes"].num() == 64.0 * 1024 * 1024);
  }

  {
    // `jobs --json` lists it.
    auto jobs = c.jobs();
    INFO(jobs.dump());
    REQUIRE(jobs.size() == 1);
    for (auto field : job_fields)
      CHECK(jobs[0].has(field));
    CHECK(jobs[0]["id"].str() == id);
    CHECK(jobs[0]["state"].str() == "succeeded");
  }

  {
    // `nodes --json` shows the dev node with its resources.
    auto nodes = c.nodes();
    INFO(nodes.dump());
    REQUIRE(nodes.size() == 1);
    auto node = nodes[0];
    for (auto field : node_fields)
      CHECK(node.has(field));
    CHECK(node["id"].str() == "dev");
    CHECK(node["role"].str() == "dev");
    CHECK(node["address"].str() == c.address("dev"));
    CHECK(node["state"].str() == "alive");
    CHECK(node["cpus_total"].num() > 0);
    CHECK(node["cpus_free"].num() == node["cpus_total"].num()); // nothing runs now
    CHECK(node["memory_total_bytes"].num() > 0);
    CHECK(node["memory_free_bytes"].num() == node["memory_total_bytes"].num());
  }

  {
    // `logs --stderr` returns what the job wrote to standard error.
    auto r = c.run({"submit", "--wait", "--json", "--", "sh", "-c", "echo out; echo oops >&2"});
    INFO(r.describe());
    REQUIRE(r.exit_code == 0);
    auto job = json::parse(r.out);
    CHECK(job["state"].str() == "succeeded");
    auto err = c.run({"logs", "--stderr", job["id"].str()});
    INFO(err.describe());
    REQUIRE(err.exit_code == 0);
    CHECK(err.out == "oops\n");
    auto out = c.run({"logs", job["id"].str()});
    CHECK(out.out == "out\n");
  }

  {
    // `submit --wait --json` prints the final job record.
    auto r = c.run({"submit", "--wait", "--json", "--name", "greeting", "--", "echo", "hi"});
    INFO(r.describe());
    REQUIRE(r.exit_code == 0);
    auto job = json::parse(r.out); // the whole stdout is one JSON document
    CHECK(job["name"].str() == "greeting");
    CHECK(job["state"].str() == "succeeded");
    CHECK(job["exit_code"].num() == 0);
  }
}

TEST_CASE("logs --follow prints a running job's output as it comes, until the job ends") {
  cluster c;
  c.start_dev("d");
  auto id = c.submit({"sh", "-c", "echo one; sleep 1; echo two"});
  auto r = c.run({"logs", "--follow", id}, 20s);
  INFO(r.describe());
  CHECK(r.exit_code == 0);
  CHECK(r.out == "one\ntwo\n");
  CHECK(c.job(id)["state"].str() == "succeeded");
}

TEST_CASE("kill escalates to SIGKILL after the grace period for a job that ignores SIGTERM") {
  cluster c;
  c.start_dev("d"); // the harness gives it --kill-grace-ms 1000
  auto id = c.submit({"sh", "-c", "trap '' TERM; echo ready; sleep 30"});
  c.wait_until("the job is running and has set its trap", [&] {
    auto r = c.run({"logs", id});
    return r.exit_code == 0 && r.out == "ready\n";
  });
  auto started = std::chrono::steady_clock::now();
  REQUIRE(c.run({"kill", id}).exit_code == 0);
  auto job = c.wait_job(id, 10s);
  auto waited = std::chrono::steady_clock::now() - started;
  INFO(job.dump());
  CHECK(job["state"].str() == "killed");
  CHECK(job["signal"].num() == SIGKILL); // SIGTERM was ignored; the grace period ran out
  CHECK(waited >= 900ms);
}

TEST_CASE("ended jobs and their output leave after the retention period") {
  cluster c;
  c.start_dev("d", {"--job-retention-ms", "1000", "--log-retention-ms", "1000"});
  auto id = c.submit({"echo", "short-lived"});
  CHECK(c.wait_job(id)["state"].str() == "succeeded");
  const auto output = c.node("d").data_dir + "/jobs/" + id + ".1.";
  CHECK(::access((output + "stdout").c_str(), F_OK) == 0);
  // A stream the job never wrote to has no file, and reads as empty.
  CHECK(::access((output + "stderr").c_str(), F_OK) != 0);
  auto stderr_read = c.run({"logs", id, "--stderr"});
  CHECK(stderr_read.exit_code == 0);
  CHECK(stderr_read.out.empty());
  c.wait_until("the job leaves the state", [&] { return c.run({"status", id}).exit_code != 0; });
  CHECK(c.run({"status", id}).err.find("no job") != std::string::npos);
  c.wait_until("its output leaves the slave",
               [&] { return ::access((output + "stdout").c_str(), F_OK) != 0; });
}

TEST_CASE("an attempt an earlier run of the slave started is never started again") {
  // What a slave SIGKILLed between starting a job and reporting it leaves: the attempt in its
  // started-attempts file, and perhaps some output. The leader, which never heard of the start,
  // asks the restarted slave to start it.
  cluster c;
  auto& node = c.start_dev("d");
  c.kill("d", SIGKILL);
  {
    std::ofstream journal{node.data_dir + "/started-attempts", std::ios::app};
    journal << "1 1\n";
    std::ofstream output{node.data_dir + "/jobs/1.1.stdout"};
    output << "from the earlier run\n";
  }
  c.restart("d");
  auto id = c.submit({"touch", node.data_dir + "/ran-twice"});
  REQUIRE(id == "1");
  auto job = c.wait_job(id);
  INFO(job.dump());
  CHECK(job["state"].str() == "failed");
  CHECK(job["reason"].str().find("not starting it twice") != std::string::npos);
  CHECK(::access((node.data_dir + "/ran-twice").c_str(), F_OK) != 0);
  CHECK(c.run({"logs", id}).out == "from the earlier run\n"); // kept, not truncated
  // The refusal is committed: the slave forgets the attempt, and the next job runs.
  auto next = c.submit({"touch", node.data_dir + "/ran-once"});
  CHECK(c.wait_job(next)["state"].str() == "succeeded");
  CHECK(::access((node.data_dir + "/ran-once").c_str(), F_OK) == 0);
}

TEST_CASE("wait returns once every job named has ended, with the status of the first that failed") {
  cluster c;
  c.start_dev("d");
  auto slow = c.submit({"sh", "-c", "sleep 1; exit 3"});
  auto quick = c.submit({"true"});
  auto r = c.run({"wait", quick, slow}, 20s);
  INFO(r.describe());
  CHECK(r.exit_code == 3);
  CHECK(r.out == quick + " succeeded\n" + slow + " failed\n");
  CHECK(c.job(slow)["state"].str() == "failed");

  r = c.run({"wait", "--json", slow, quick});
  INFO(r.describe());
  CHECK(r.exit_code == 3);
  auto jobs = json::parse(r.out);
  REQUIRE(jobs.items().size() == 2);
  CHECK(jobs.items()[0]["id"].str() == slow);
  CHECK(jobs.items()[0]["exit_code"].num() == 3);
  CHECK(jobs.items()[1]["state"].str() == "succeeded");

  r = c.run({"wait", quick, "77"});
  CHECK(r.exit_code != 0);
  CHECK(r.err.find("no job with id '77'") != std::string::npos);
}

TEST_CASE("a command whose bytes are not UTF-8 runs with exactly those bytes, shown escaped") {
  cluster c;
  c.start_dev("dev");
  // The job prints its first argument's bytes in hex: exactly what it was given.
  auto id = c.submit({"sh", "-c", "printf %s \"$1\" | od -An -tx1", "sh",
                      "a\xff\xfe"
                      "b"},
                     {"--name", "n\xff"});
  auto job = c.wait_job(id);
  CHECK(job["state"].str() == "succeeded");
  CHECK(c.run({"logs", id}).out == " 61 ff fe 62\n");
  CHECK(job["name"].str() == "n\\xff");
  CHECK(job["command"].items().back().str() == "a\\xff\\xfeb");
  auto table = c.run({"jobs"});
  CHECK(table.out.find("n\\xff") != std::string::npos);

  // A command that is not found names it escaped, in one valid line.
  auto missing = c.submit({"no-such-\xff"});
  auto failed = c.wait_job(missing);
  CHECK(failed["state"].str() == "failed");
  CHECK(failed["reason"].str() == "cannot start job: command 'no-such-\\xff' not found in PATH");
}

TEST_CASE("a job runs with the environment and working directory it asked for") {
  cluster c;
  c.start_dev("dev");
  const auto env_file = c.root() + "/job.env";
  std::ofstream{env_file} << "# from the file\nGREETING=hello\nTARGET=file\n";
  const auto workdir = c.root() + "/work";
  REQUIRE(::mkdir(workdir.c_str(), 0755) == 0);
  // --env comes after --env-file: TARGET is the flag's.
  auto id = c.submit(
      {"sh", "-c", "echo \"$GREETING $TARGET $EMPTY.\"; pwd"},
      {"--env-file", env_file, "--env", "TARGET=world", "--env", "EMPTY=", "--workdir", workdir});
  auto job = c.wait_job(id);
  CHECK(job["state"].str() == "succeeded");
  CHECK(c.run({"logs", id}).out == "hello world .\n" + workdir + "\n");
  CHECK(job["env"]["TARGET"].str() == "world");
  CHECK(job["workdir"].str() == workdir);
  CHECK(c.run({"status", id}).out.find("env:         TARGET=world\n") != std::string::npos);

  // A directory the slave does not have fails the start, saying which.
  auto missing = c.submit({"true"}, {"--workdir", c.root() + "/nowhere"});
  auto failed = c.wait_job(missing);
  CHECK(failed["state"].str() == "failed");
  CHECK(failed["reason"].str().find("working directory " + c.root() + "/nowhere cannot be used")
        != std::string::npos);

  // Mistakes are refused before anything is submitted, each with what was expected.
  auto bad_name = c.run({"submit", "--env", "1X=y", "--", "true"});
  CHECK(bad_name.exit_code != 0);
  CHECK(bad_name.err.find("'1X' is not a variable name") != std::string::npos);
  auto bad_line = c.run({"submit", "--env-file", c.root() + "/work", "--", "true"});
  CHECK(bad_line.exit_code != 0);
  CHECK(bad_line.err.find("is a directory; give a file") != std::string::npos);
  std::ofstream{env_file} << "OK=1\nexport NO=2\n";
  auto bad_file = c.run({"submit", "--env-file", env_file, "--", "true"});
  CHECK(bad_file.err.find(env_file + ":2: --env: 'export NO' is not a variable name")
        != std::string::npos);
  auto relative = c.run({"submit", "--workdir", "work", "--", "true"});
  CHECK(relative.exit_code != 0);
  CHECK(relative.err.find("--workdir 'work' must be an absolute path") != std::string::npos);
  CHECK(c.jobs().size() == 2);
}

TEST_CASE("a job that runs past its --timeout is stopped and fails, saying so") {
  cluster c;
  c.start_dev("dev");
  auto id = c.submit({"sh", "-c", "echo $$; exec sleep 600"}, {"--timeout", "500ms"});
  auto pid = c.wait_printed_pid(id);
  auto job = c.wait_job(id, 10s);
  CHECK(job["state"].str() == "failed");
  CHECK(job["signal"].num() == SIGTERM);
  CHECK(job["reason"].str() == "ran longer than its --timeout of 500ms, so it was stopped");
  CHECK(job["timeout_ms"].num() == 500);
  CHECK(::kill(pid, 0) == -1); // the process is gone, not left running
  // One that ends in time is not touched.
  auto quick = c.submit({"true"}, {"--timeout", "1m"});
  CHECK(c.wait_job(quick)["state"].str() == "succeeded");
  auto bad = c.run({"submit", "--timeout", "soon", "--", "true"});
  CHECK(bad.exit_code != 0);
  CHECK(bad.err.find("--timeout 'soon' is not a duration") != std::string::npos);
}

TEST_CASE("a job's stored output is bounded by --max-output, keeping its first and last halves") {
  cluster c;
  c.start_dev("dev", {"--max-output", "1K"});
  auto id = c.submit({"sh", "-c", "echo START; seq 1 20000; echo END"});
  CHECK(c.wait_job(id)["state"].str() == "succeeded");
  auto out = c.run({"logs", id}).out;
  CHECK(out.rfind("START\n", 0) == 0);
  CHECK(out.size() > 1024);
  CHECK(out.size() < 1024 + 200); // the two halves and one line about what was dropped
  CHECK(out.find("bytes of output dropped here: a stream keeps its first 512 and last 512 bytes "
                 "(--max-output 1024)]")
        != std::string::npos);
  CHECK(out.substr(out.size() - 11) == "\n20000\nEND\n");
  CHECK(c.node_record("dev")["max_output_bytes"].num() == 1024);
}

TEST_CASE("a slave whose data dir has less free space than --min-free-disk says so in nodes") {
  cluster c;
  c.start_dev("dev", {"--min-free-disk", "1000T"}); // more than any test machine has free
  json record;
  c.wait_until(
      "the node reports its disk",
      [&] {
        record = c.node_record("dev");
        return record["disk_note"].str().rfind("data dir nearly full: ", 0) == 0;
      },
      10s, [&] { return record.dump(); });
  CHECK(c.run({"nodes"}).out.find("dev: data dir nearly full: ") != std::string::npos);
  CHECK(c.node_stderr("dev").find("low disk") != std::string::npos);
}
