#include "cli/job_file.hpp"

#include <cmath>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>
#include <stdexcept>

#include <fmt/format.h>
#include <google/protobuf/util/json_util.h>

#include "state/dependencies.hpp"
#include "state/spec_validation.hpp"
#include "state/units.hpp"
#include "views.pb.h"

namespace claud::cli {

namespace {

/// The text without its comment lines (kept as empty lines).
std::string without_comments(const std::string& text) {
  std::istringstream in{text};
  std::string out;
  for (std::string line; std::getline(in, line);) {
    const auto first = line.find_first_not_of(" \t");
    out += first != std::string::npos && line.compare(first, 2, "//") == 0 ? "" : line;
    out += '\n';
  }
  return out;
}

/// protobuf's "INVALID_ARGUMENT:(cpus): invalid value \"lots\" for type TYPE_DOUBLE" as one
/// line a user reads: "cpus: \"lots\" is not a number".
std::string readable(std::string message) {
  if (auto end = message.find('\n'); end != std::string::npos)
    message = message.substr(0, end) + " (the file is not valid JSON)";
  if (message.rfind("INVALID", 0) == 0)
    if (auto colon = message.find(':'); colon != std::string::npos)
      message = message.substr(colon + 1);
  if (message.rfind("(", 0) == 0)
    if (auto close = message.find(')'); close != std::string::npos)
      message = message.substr(1, close - 1) + message.substr(close + 1);
  static const std::regex invalid{R"(invalid value (.*) for type TYPE_([A-Z0-9]+))"};
  std::smatch m;
  if (std::regex_search(message, m, invalid)) {
    const std::string type = m[2];
    const char* expected = type == "STRING"                       ? "a string"
                           : type == "BOOL"                       ? "true or false"
                           : type == "MESSAGE" || type == "GROUP" ? "an object"
                                                                  : "a number";
    message = m.prefix().str() + m[1].str() + " is not " + expected;
  }
  const std::string unknown = "Cannot find field.";
  if (auto at = message.find(unknown); at != std::string::npos)
    message = message.substr(0, at) + "no such field (`claud run --example` shows them all)";
  return message;
}

/// `value` times `scale` as a whole number of at least 0; else an error saying it should be
/// `what`.
int64_t whole(double value, const char* field, const std::string& origin, const char* what,
              double scale = 1) {
  const double scaled = value * scale;
  if (!std::isfinite(scaled) || scaled < 0 || scaled > 9e15 || scaled != std::floor(scaled))
    throw std::invalid_argument(fmt::format("{}: {}: {} is not {}", origin, field, value, what));
  return static_cast<int64_t>(scaled);
}

pb::RestartPolicy restart_policy(const std::string& text, const std::string& origin) {
  if (text.empty() || text == "never")
    return pb::RESTART_NEVER;
  if (text == "on-failure")
    return pb::RESTART_ON_FAILURE;
  if (text == "always")
    return pb::RESTART_ALWAYS;
  throw std::invalid_argument(fmt::format(
      "{}: restart: \"{}\" is not a policy; use never, on-failure or always", origin, text));
}

/// The one of `choices` that `text` is ("" is the first).
bool one_of(const std::string& text, const char* field, const char* first, const char* second,
            const std::string& origin) {
  if (text.empty() || text == first)
    return false;
  if (text == second)
    return true;
  throw std::invalid_argument(
      fmt::format("{}: {}: \"{}\" is not {} or {}", origin, field, text, first, second));
}

/// A problem found by the checks the CLI's flags share, told of the field, not of the flag.
void check(std::string problem, const std::string& origin, const char* field) {
  if (problem.empty())
    return;
  for (const char* flag : {"--env: ", "--user: ", "user: ", "--after: "})
    if (problem.rfind(flag, 0) == 0)
      problem = problem.substr(std::string{flag}.size());
  throw std::invalid_argument(fmt::format("{}: {}: {}", origin, field, problem));
}

} // namespace

pb::JobSpec parse_job_file(const std::string& text, const std::string& origin) {
  pb::view::Job job;
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = false; // a misspelt field is a mistake, not a default
  auto status = google::protobuf::util::JsonStringToMessage(without_comments(text), &job, options);
  if (!status.ok())
    throw std::invalid_argument(
        fmt::format("{}: {}", origin, readable(std::string{status.message()})));
  if (job.command_size() == 0)
    throw std::invalid_argument(fmt::format(
        "{}: command: a job needs a command, e.g. \"command\": [\"echo\", \"hi\"]", origin));
  pb::JobSpec spec;
  spec.set_name(job.name());
  for (const auto& arg : job.command())
    spec.add_argv(arg);
  // 0 (or absent) takes the CLI's default, as `claud submit` without the flag would.
  spec.set_cpu_millis(job.cpus() == 0 ? 100
                                      : whole(job.cpus(), "cpus", origin,
                                              "a CPU count of at least 0 in steps of "
                                              "0.001",
                                              1000));
  spec.set_memory_bytes(job.memory_bytes() == 0 ? 64 << 20
                                                : whole(job.memory_bytes(), "memory_bytes", origin,
                                                        "a whole number of bytes"));
  spec.set_restart(restart_policy(job.restart(), origin));
  spec.set_max_attempts(job.max_attempts());
  spec.set_fail_on_node_lost(
      one_of(job.on_node_lost(), "on_node_lost", "reschedule", "fail", origin));
  spec.set_backoff_base_ms(job.backoff_ms() == 0 ? 1000
                                                 : whole(job.backoff_ms(), "backoff_ms", origin,
                                                         "a whole number of milliseconds"));
  for (int i = 0; i < job.constraints_size(); ++i)
    check(state::parse_constraint(job.constraints(i), *spec.add_constraints()), origin,
          "constraints");
  spec.set_strategy(one_of(job.strategy(), "strategy", "binpack", "spread", origin)
                        ? pb::STRATEGY_SPREAD
                        : pb::STRATEGY_BINPACK);
  if (!job.user().empty())
    check(state::user_name_problem(job.user(), "user"), origin, "user");
  spec.set_user(job.user());
  check(state::idempotency_key_problem(job.idempotency_key()), origin, "idempotency_key");
  spec.set_idempotency_key(job.idempotency_key());
  // A JSON object has no order: variables go in by name, so a file always means the same.
  std::map<std::string, std::string> env(job.env().begin(), job.env().end());
  for (const auto& [name, value] : env) {
    if (name.find('=') != std::string::npos)
      throw std::invalid_argument(
          fmt::format("{}: env: \"{}\" is not a variable name", origin, name));
    check(state::parse_env(name + "=" + value, *spec.add_env()), origin, "env");
  }
  spec.set_workdir(job.workdir());
  spec.set_stdin_file(job.stdin());
  for (const auto& text : job.after()) // waits_for, the state's own, is not read
    check(state::parse_dependency(text, *spec.add_after()), origin, "after");
  spec.set_timeout_ms(
      whole(job.timeout_ms(), "timeout_ms", origin, "a whole number of milliseconds"));
  check(state::validate_spec(spec), origin, "job");
  return spec;
}

pb::JobSpec read_job_file(const std::string& path) {
  std::ifstream in{path, std::ios::binary};
  if (!in)
    throw std::invalid_argument(fmt::format("cannot read the job file {}", path));
  std::string text;
  char buffer[65536];
  while (in.read(buffer, sizeof buffer) || in.gcount() > 0) {
    text.append(buffer, static_cast<size_t>(in.gcount()));
    if (text.size() > max_job_file_bytes)
      throw std::invalid_argument(
          fmt::format("{}: a job file holds at most {} bytes", path, max_job_file_bytes));
  }
  return parse_job_file(text, path);
}

const char* example_job_file() {
  return R"(// A claud job file: `claud run job.json`. Lines starting with // are comments; every
// field but command may be left out. `claud status ID --json` prints this format too.
{
  // The command and its arguments, run as given (no shell unless you name one).
  "command": ["sh", "-c", "echo hello from $GREETING"],
  // A name for listings (default: the command's base name).
  "name": "hello",
  // CPUs and memory the job needs (0 or absent: 0.1 CPUs, 64 MiB).
  "cpus": 0.5,
  "memory_bytes": 268435456,
  // Set in its environment over the slave's.
  "env": {"GREETING": "a job file"},
  // Where it starts on the slave (absolute; "" for the slave's own directory).
  "workdir": "",
  // The file on the slave its standard input reads (absolute; "" for /dev/null).
  "stdin": "",
  // How long each attempt may run, in ms (0: no limit).
  "timeout_ms": 60000,
  // Jobs it runs after: JOB:ok (it succeeded), JOB:any (it ended) or JOB:fail (it did not
  // succeed). It waits pending until they have, and fails if one ends otherwise.
  "after": [],
  // never, on-failure or always; placements in all (0: no limit); the first restart's delay.
  "restart": "on-failure",
  "max_attempts": 3,
  "backoff_ms": 1000,
  // When its node dies: reschedule (run it again elsewhere) or fail.
  "on_node_lost": "reschedule",
  // Labels its node must have (KEY=VALUE or KEY!=VALUE), and binpack or spread.
  "constraints": [],
  "strategy": "binpack",
  // The user it runs as ("" for the slave's --run-as); a key that makes it at most once.
  "user": "",
  "idempotency_key": ""
}
)";
}

} // namespace claud::cli
