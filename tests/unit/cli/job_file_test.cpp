// Job files: the sample and a job's own status document are accepted, and each kind of mistake is
// one line naming the file and the field.
#include "cli/job_file.hpp"

#include <catch2/catch.hpp>

#include <string>

#include "cli/views.hpp"

using namespace claud;
using cli::parse_job_file;

namespace {

std::string error_of(const std::string& text) {
  try {
    parse_job_file(text, "job.json");
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "(accepted)";
}

} // namespace

TEST_CASE("the sample job file is a job, comments and all") {
  auto spec = parse_job_file(cli::example_job_file(), "example");
  CHECK(spec.argv_size() == 3);
  CHECK(spec.name() == "hello");
  CHECK(spec.cpu_millis() == 500);
  CHECK(spec.memory_bytes() == 268435456);
  CHECK(spec.restart() == pb::RESTART_ON_FAILURE);
  CHECK(spec.timeout_ms() == 60000);
  REQUIRE(spec.env_size() == 1);
  CHECK(spec.env(0).name() == "GREETING");
}

TEST_CASE("a job's status document is accepted back as the same job") {
  pb::Job job;
  job.set_id("7");
  job.set_state(pb::JOB_FAILED);
  auto* spec = job.mutable_spec();
  spec->set_name("batch");
  spec->add_argv("sh");
  spec->add_argv("-c");
  spec->add_argv("exit 3");
  spec->set_cpu_millis(1500);
  spec->set_memory_bytes(1 << 30);
  spec->set_restart(pb::RESTART_ALWAYS);
  spec->set_max_attempts(5);
  spec->set_fail_on_node_lost(true);
  spec->set_backoff_base_ms(250);
  spec->set_strategy(pb::STRATEGY_SPREAD);
  spec->set_timeout_ms(30000);
  spec->set_workdir("/srv");
  spec->set_stdin_file("/srv/input.txt");
  auto* first = spec->add_after();
  first->set_job_id("5");
  auto* second = spec->add_after();
  second->set_job_id("6");
  second->set_condition(pb::AFTER_FAIL);
  job.add_waits_for("6"); // the state's own: not read back
  auto* var = spec->add_env();
  var->set_name("A");
  var->set_value("b=c");
  pb::Constraint zone;
  zone.set_key("zone");
  zone.set_value("a");
  *spec->add_constraints() = zone;
  auto back = parse_job_file(cli::to_json(cli::to_view(job)), "status.json");
  CHECK(back.SerializeAsString() == spec->SerializeAsString());
}

TEST_CASE("each mistake in a job file names the file and the field") {
  CHECK(error_of(R"({"command": ["true"], "memory_bytes": "lots"})")
        == "job.json: memory_bytes: \"lots\" is not a number");
  CHECK(error_of(R"({"comand": ["true"]})")
        == "job.json: comand: no such field (`claud run --example` shows them all)");
  CHECK(error_of(R"({"name": "x"})").rfind("job.json: command: a job needs a command", 0) == 0);
  CHECK(error_of(R"({"command": ["true"], "restart": "sometimes"})")
        == "job.json: restart: \"sometimes\" is not a policy; use never, on-failure or always");
  CHECK(error_of(R"({"command": ["true"], "cpus": -1})")
        == "job.json: cpus: -1 is not a CPU count of at least 0 in steps of 0.001");
  CHECK(error_of(R"({"command": ["true"], "timeout_ms": 1.5})")
        == "job.json: timeout_ms: 1.5 is not a whole number of milliseconds");
  CHECK(error_of(R"({"command": ["true"], "strategy": "random"})")
        == "job.json: strategy: \"random\" is not binpack or spread");
  CHECK(error_of(R"({"command": ["true"], "env": {"1X": "a"}})").rfind("job.json: env: '1X'", 0)
        == 0);
  CHECK(error_of(R"({"command": ["true"], "constraints": ["zone"]})")
            .rfind("job.json: constraints: ", 0)
        == 0);
  CHECK(error_of(R"({"command": ["true"], "after": ["7:soon"]})")
        == "job.json: after: '7:soon': the condition must be ok (it succeeded), any (it ended) "
           "or fail (it did not succeed)");
  CHECK(error_of(R"({"command": ["true"], "after": ["7", "7:any"]})")
        == "job.json: job: --after names job 7 twice; name each job once");
  CHECK(error_of(R"({"command": ["true"], "stdin": "in.txt"})")
            .rfind("job.json: job: --stdin 'in.txt' must be an absolute path on the slave", 0)
        == 0);
  CHECK(error_of("not json") == "job.json: Unexpected token. (the file is not valid JSON)");
}

TEST_CASE("a job file that is too big or missing is refused before it is parsed") {
  CHECK_THROWS_WITH(cli::read_job_file("/nonexistent/job.json"),
                    "cannot read the job file /nonexistent/job.json");
}
