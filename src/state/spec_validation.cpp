#include "state/spec_validation.hpp"

#include <fmt/format.h>

namespace claud::state {

namespace {

bool printable(const std::string& text) {
  for (unsigned char c : text)
    if (c < 0x20 || c == 0x7f)
      return false;
  return true;
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
  if (spec.name().size() > limits.max_name_bytes || !printable(spec.name()))
    return fmt::format("the job name must be printable and at most {} bytes",
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
  if (!pb::RestartPolicy_IsValid(spec.restart()))
    return "unknown restart policy; use never, on-failure or always";
  return {};
}

} // namespace claud::state
