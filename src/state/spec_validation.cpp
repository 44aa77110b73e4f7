#include "state/spec_validation.hpp"

#include <cctype>

#include <fmt/format.h>

#include "state/dependencies.hpp"
#include "state/task_queue.hpp"
#include "state/units.hpp"

namespace claud::state {

namespace {

bool has_no_control_bytes(const std::string& text) {
  for (unsigned char c : text)
    if (c < 0x20 || c == 0x7f)
      return false;
  return true;
}

bool label_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.'
         || c == '_' || c == '-';
}

/// `text` cut to `max_chars` (with "..." when cut) and with every byte that is not printable
/// ASCII shown as '?', to echo a wrong input without writing terminal controls.
std::string shown(const std::string& text, size_t max_chars) {
  auto out = text.substr(0, max_chars);
  for (auto& c : out)
    if (c < 0x20 || c >= 0x7f)
      c = '?';
  return text.size() > max_chars ? out + "..." : out;
}

} // namespace

std::string label_text_problem(const std::string& text, const char* flag) {
  bool ok = !text.empty() && text.size() <= max_label_chars;
  for (char c : text)
    ok = ok && label_char(c);
  if (ok)
    return {};
  return fmt::format("{} '{}': keys and values must be 1 to {} characters of A-Z a-z 0-9 . _ -",
                     flag, shown(text, max_label_chars), max_label_chars);
}

std::string parse_label(const std::string& text, std::string& key, std::string& value) {
  auto equals = text.find('=');
  if (equals == std::string::npos)
    return fmt::format("--label '{}' must be KEY=VALUE, e.g. --label zone=a", text);
  key = text.substr(0, equals);
  value = text.substr(equals + 1);
  if (auto problem = label_text_problem(key, "--label"); !problem.empty())
    return problem;
  return label_text_problem(value, "--label");
}

std::string parse_constraint(const std::string& text, pb::Constraint& out) {
  auto equals = text.find('=');
  if (equals == std::string::npos)
    return fmt::format("--constraint '{}' must be KEY=VALUE or KEY!=VALUE, e.g. zone=a", text);
  bool negated = equals > 0 && text[equals - 1] == '!';
  out.set_key(text.substr(0, negated ? equals - 1 : equals));
  out.set_value(text.substr(equals + 1));
  out.set_negated(negated);
  if (auto problem = label_text_problem(out.key(), "--constraint"); !problem.empty())
    return problem;
  return label_text_problem(out.value(), "--constraint");
}

std::string constraint_text(const pb::Constraint& constraint) {
  return fmt::format("{}{}={}", constraint.key(), constraint.negated() ? "!" : "",
                     constraint.value());
}

std::string idempotency_key_problem(const std::string& key) {
  bool ok = key.size() <= max_idempotency_key_chars;
  for (char c : key)
    ok = ok && (label_char(c) || c == ':');
  return ok ? ""
            : fmt::format("an idempotency key is at most {} characters of A-Z a-z 0-9 . _ - :",
                          max_idempotency_key_chars);
}

std::string user_name_problem(const std::string& name, const char* flag) {
  bool ok = !name.empty() && name.size() <= max_user_name_chars && name.front() != '-';
  for (char c : name)
    ok = ok && label_char(c);
  if (ok)
    return {};
  return fmt::format("{} '{}': a user name is 1 to {} characters of A-Z a-z 0-9 . _ -, not "
                     "starting with -",
                     flag, shown(name, max_user_name_chars), max_user_name_chars);
}

namespace {

/// Empty when `name` is a variable name a shell can set, else one line with the rule.
std::string env_name_problem(const std::string& name) {
  bool ok = !name.empty() && !std::isdigit(static_cast<unsigned char>(name[0]));
  for (char c : name)
    ok = ok && (std::isalnum(static_cast<unsigned char>(c)) || c == '_');
  if (ok)
    return {};
  return fmt::format("--env: '{}' is not a variable name: use A-Z a-z 0-9 _, not starting with "
                     "a digit",
                     shown(name, 64));
}

/// Empty when `path` (given with `flag`) is empty or an absolute path in bounds, else one line.
std::string slave_path_problem(const std::string& path, const char* flag, const char* example,
                               const spec_limits& limits) {
  if (path.empty()
      || (path[0] == '/' && path.find('\0') == std::string::npos
          && path.size() <= limits.max_path_bytes))
    return {};
  return fmt::format("{} '{}' must be an absolute path on the slave (at most {} bytes, no NUL), "
                     "e.g. {}",
                     flag, shown(path, 64), limits.max_path_bytes, example);
}

/// Empty when the job's environment, working directory and input are valid and in bounds.
std::string env_and_workdir_problem(const pb::JobSpec& spec, const spec_limits& limits) {
  if (static_cast<size_t>(spec.env_size()) > limits.max_env_vars)
    return fmt::format("the job sets {} environment variables; at most {} are allowed",
                       spec.env_size(), limits.max_env_vars);
  size_t bytes = 0;
  for (const auto& var : spec.env()) {
    if (auto problem = env_name_problem(var.name()); !problem.empty())
      return problem;
    if (var.value().find('\0') != std::string::npos)
      return fmt::format("--env: the value of {} contains a NUL byte, which an environment "
                         "cannot hold",
                         var.name());
    bytes += var.name().size() + var.value().size() + 2;
  }
  if (bytes > limits.max_environment_bytes)
    return fmt::format("the job's environment is {} bytes; at most {} are allowed", bytes,
                       limits.max_environment_bytes);
  if (auto problem = slave_path_problem(spec.workdir(), "--workdir", "/srv/data", limits);
      !problem.empty())
    return problem;
  return slave_path_problem(spec.stdin_file(), "--stdin", "/srv/data/input.txt", limits);
}

} // namespace

std::string parse_env(const std::string& text, pb::EnvVar& out) {
  auto equals = text.find('=');
  if (equals == std::string::npos)
    return fmt::format("--env '{}' must be NAME=VALUE, e.g. --env LANG=C.UTF-8", shown(text, 64));
  out.set_name(text.substr(0, equals));
  out.set_value(text.substr(equals + 1));
  return env_name_problem(out.name());
}

namespace {

/// What is wrong with the task fields of `spec`, or "".
std::string tasks_problem(const pb::JobSpec& spec, const spec_limits& limits) {
  if (spec.task_count() == 0) {
    if (spec.task_args_size() > 0 || spec.task_parallel() > 0 || spec.task_attempts() > 0
        || spec.task_progress_step() > 0)
      return "--parallel, --task-attempts and --progress-step are for a job of many tasks; give "
             "--tasks N too";
    return "";
  }
  if (!limits.tasks_served)
    return "jobs of many tasks (--tasks) are not run by this cluster yet; submit the tasks as "
           "jobs of their own";
  if (spec.task_count() > limits.max_tasks)
    return fmt::format("--tasks {} is too many; a job may have at most {} tasks", spec.task_count(),
                       limits.max_tasks);
  if (spec.task_args_size() > 0
      && static_cast<uint32_t>(spec.task_args_size()) != spec.task_count())
    return fmt::format("the job lists the arguments of {} tasks but has {} tasks",
                       spec.task_args_size(), spec.task_count());
  if (spec.task_attempts() > limits.max_task_attempts)
    return fmt::format("--task-attempts may be at most {} (0: {})", limits.max_task_attempts,
                       default_task_attempts);
  if (spec.task_progress_step() > 100)
    return "--progress-step is a percent: 1 to 100 (0: every 25 %)";
  if (spec.restart() != pb::RESTART_NEVER)
    return "a job of many tasks tries each task again (--task-attempts), not itself: leave "
           "--restart at never";
  return "";
}

} // namespace

std::string validate_spec(const pb::JobSpec& spec, const spec_limits& limits) {
  if (spec.argv_size() == 0 || spec.argv(0).empty())
    return "the command is empty; give it after `--`, e.g. `claud submit -- echo hi`";
  if (static_cast<size_t>(spec.argv_size()) > limits.max_args)
    return fmt::format("the command has {} arguments; at most {} are allowed", spec.argv_size(),
                       limits.max_args);
  size_t command_bytes = 0;
  for (const auto& arg : spec.argv()) {
    if (arg.find('\0') != std::string::npos)
      return "an argument contains a NUL byte, which a process cannot receive";
    command_bytes += arg.size() + 1;
  }
  if (command_bytes > limits.max_command_bytes)
    return fmt::format("the command is {} bytes long; at most {} are allowed", command_bytes,
                       limits.max_command_bytes);
  if (spec.name().size() > limits.max_name_bytes || !has_no_control_bytes(spec.name()))
    return fmt::format("the job name must have no control characters and at most {} bytes",
                       limits.max_name_bytes);
  if (spec.cpu_millis() <= 0)
    return "the job must ask for more than 0 CPUs, e.g. --cpus 0.1";
  if (spec.memory_bytes() < limits.min_memory_bytes)
    return fmt::format("the job must ask for at least {} MiB of memory, e.g. --memory 64M",
                       limits.min_memory_bytes / (1024 * 1024));
  if (spec.max_attempts() > limits.max_attempts)
    return fmt::format("--max-attempts may be at most {} (0 means no limit)", limits.max_attempts);
  if (spec.backoff_base_ms() < 0 || spec.backoff_base_ms() > limits.max_backoff_base_ms)
    return fmt::format("the restart backoff must be from 0 to {} ms", limits.max_backoff_base_ms);
  if (auto problem = idempotency_key_problem(spec.idempotency_key()); !problem.empty())
    return problem;
  if (!spec.user().empty())
    if (auto problem = user_name_problem(spec.user(), "--user"); !problem.empty())
      return problem;
  if (!pb::RestartPolicy_IsValid(spec.restart()))
    return "unknown restart policy; use never, on-failure or always";
  if (!pb::PlacementStrategy_IsValid(spec.strategy()))
    return "unknown placement strategy; use binpack or spread";
  if (static_cast<size_t>(spec.constraints_size()) > limits.max_constraints)
    return fmt::format("the job has {} constraints; at most {} are allowed",
                       spec.constraints_size(), limits.max_constraints);
  for (const auto& constraint : spec.constraints()) {
    if (auto problem = label_text_problem(constraint.key(), "--constraint"); !problem.empty())
      return problem;
    if (auto problem = label_text_problem(constraint.value(), "--constraint"); !problem.empty())
      return problem;
  }
  if (spec.timeout_ms() < 0 || spec.timeout_ms() > limits.max_timeout_ms)
    return fmt::format("--timeout must be at most {} (or none)",
                       format_duration_ms(limits.max_timeout_ms));
  if (auto problem = dependencies_problem(spec); !problem.empty())
    return problem;
  if (auto problem = tasks_problem(spec, limits); !problem.empty())
    return problem;
  return env_and_workdir_problem(spec, limits);
}

} // namespace claud::state
