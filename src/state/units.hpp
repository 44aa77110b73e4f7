#pragma once
// Resource quantities as users write them: CPUs as decimals ("1.5" = 1500 millicores) and memory
// as sizes with binary suffixes ("512M", "4G", "1073741824").

#include <cstdint>
#include <stdexcept>
#include <string>

namespace claud::state {

/// Throws std::invalid_argument with one line naming `flag` and what is expected.
int64_t parse_cpu_millis(const std::string& text, const std::string& flag);
int64_t parse_memory_bytes(const std::string& text, const std::string& flag);

std::string format_cpus(int64_t cpu_millis); // "1.5"
std::string format_bytes(int64_t bytes);     // "512M", "1.5G"

} // namespace claud::state
