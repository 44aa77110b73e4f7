#pragma once

#include <cstdint>
#include <string>

#include "cluster.pb.h"

namespace claud::state {

/// Bounds on what one job spec may carry; every input has a bound.
struct spec_limits {
  size_t max_args = 4096;
  size_t max_command_bytes = 128 * 1024;
  size_t max_name_bytes = 128;
  int64_t min_memory_bytes = 1024 * 1024;
  uint32_t max_attempts = 1000;
  int64_t max_backoff_base_ms = 3600 * 1000;
  size_t max_constraints = 64;
  size_t max_env_vars = 1024;
  size_t max_environment_bytes = 128 * 1024;         // NAME=VALUE and a NUL each, summed
  size_t max_path_bytes = 4096;                      // PATH_MAX: --workdir, --stdin
  int64_t max_timeout_ms = 366LL * 24 * 3600 * 1000; // a year: anything longer is no limit
  uint32_t max_tasks = 1'000'000;                    // of one job of many tasks
  uint32_t max_task_attempts = 100;
  // Whether the nodes run task slots: until the slaves pull tasks, a job of many tasks is refused
  // at submission rather than placed where nothing would run its tasks.
  bool tasks_served = false;
};

/// Node labels and constraints: keys and values are 1..`max_label_chars` characters of
/// [A-Za-z0-9._-], so they need no quoting in tables, flags or JSON; a node has at most
/// `max_labels`.
constexpr size_t max_label_chars = 63;
constexpr size_t max_labels = 64;

/// Empty when `text` is a valid label key or value, else one line naming `flag` and the rule.
std::string label_text_problem(const std::string& text, const char* flag);

/// Parses a node's `--label KEY=VALUE`; returns empty or one line saying what is wrong.
std::string parse_label(const std::string& text, std::string& key, std::string& value);

/// Parses a job's `--constraint KEY=VALUE` or `KEY!=VALUE`; returns empty or one line.
std::string parse_constraint(const std::string& text, pb::Constraint& out);

/// "zone=a" or "disk!=hdd", as `--constraint` takes it.
std::string constraint_text(const pb::Constraint& constraint);

/// Idempotency keys (--idempotency-key, or made by the client library): at most this many
/// characters of [A-Za-z0-9._:-]; empty means none.
constexpr size_t max_idempotency_key_chars = 128;

/// Empty when `key` is a valid idempotency key, else one line with the rule.
std::string idempotency_key_problem(const std::string& key);

/// User names (submit --user, --run-as, --allow-users): 1 to this many characters of
/// [A-Za-z0-9._-], not starting with '-' (POSIX's portable user names, as useradd takes them).
constexpr size_t max_user_name_chars = 32;
/// The users a slave may let jobs ask for (--allow-users), at most.
constexpr size_t max_allowed_users = 64;

/// Empty when `name` is a valid user name, else one line naming `flag` and the rule.
std::string user_name_problem(const std::string& name, const char* flag);

/// Parses a job's `--env NAME=VALUE`; returns empty or one line saying what is wrong.
std::string parse_env(const std::string& text, pb::EnvVar& out);

/// Returns an empty string for a valid spec, else one line saying what is wrong and what to do.
std::string validate_spec(const pb::JobSpec& spec, const spec_limits& limits = {});

} // namespace claud::state
