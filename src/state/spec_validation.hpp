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
};

/// Returns an empty string for a valid spec, else one line saying what is wrong and what to do.
std::string validate_spec(const pb::JobSpec& spec, const spec_limits& limits = {});

} // namespace claud::state
