#pragma once
// Resource quantities as users write them: CPUs as decimals ("1.5" = 1500 millicores) and memory
// as sizes with binary suffixes ("512M", "4G", "1073741824"), durations with a unit ("500ms",
// "30s", "1.5h").

#include <cstdint>
#include <stdexcept>
#include <string>

namespace claud::state {

/// Throws std::invalid_argument with one line naming `flag` and what is expected.
int64_t parse_cpu_millis(const std::string& text, const std::string& flag);
int64_t parse_memory_bytes(const std::string& text, const std::string& flag);
/// A positive duration with a unit, ms, s, m, h or d ("500ms", "30s", "1.5h"), in milliseconds.
int64_t parse_duration_ms(const std::string& text, const std::string& flag);

std::string format_cpus(int64_t cpu_millis); // "1.5"
std::string format_bytes(int64_t bytes);     // "512M", "1.5G"
std::string
format_duration_ms(int64_t ms); // "500ms", "30s", "1.5h": the largest unit with at most one decimal

} // namespace claud::state
