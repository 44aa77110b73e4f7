#include "state/units.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>

#include <fmt/format.h>

namespace claud::state {

namespace {

/// A non-negative decimal number and nothing else ("1", "0.25"); no exponents, no signs.
bool parse_decimal(const std::string& text, double& out) {
  if (text.empty() || text.size() > 32)
    return false;
  bool digits = false;
  bool dot = false;
  for (char c : text) {
    if (std::isdigit(static_cast<unsigned char>(c)))
      digits = true;
    else if (c == '.' && !dot)
      dot = true;
    else
      return false;
  }
  if (!digits)
    return false;
  out = std::strtod(text.c_str(), nullptr);
  return std::isfinite(out);
}

} // namespace

int64_t parse_cpu_millis(const std::string& text, const std::string& flag) {
  double cpus = 0;
  if (!parse_decimal(text, cpus) || cpus <= 0 || cpus > 1e6)
    throw std::invalid_argument(fmt::format(
        "{} '{}' is not a valid CPU count; give a positive number such as 0.5 or 2", flag, text));
  auto millis = static_cast<int64_t>(std::llround(cpus * 1000.0));
  if (millis == 0)
    throw std::invalid_argument(
        fmt::format("{} '{}' is below the smallest unit, 0.001 CPUs", flag, text));
  return millis;
}

int64_t parse_memory_bytes(const std::string& text, const std::string& flag) {
  // Accepted: 1048576, 512K, 512M, 4G, 1T, and the spellings 512MB, 512MiB, 512mb.
  std::string number = text;
  auto upper_back = [&] {
    return number.empty() ? '\0' : std::toupper(static_cast<unsigned char>(number.back()));
  };
  if (upper_back() == 'B')
    number.pop_back();
  // The 'i' of "MiB" belongs to a unit: "512i" or "512iB" is a typo, not 512 bytes.
  const bool binary_marker = upper_back() == 'I';
  if (binary_marker)
    number.pop_back();
  double multiplier = 1;
  static const std::string units = "KMGT";
  auto unit = units.find(static_cast<char>(upper_back()));
  if (unit != std::string::npos) {
    multiplier = std::pow(1024.0, static_cast<double>(unit + 1));
    number.pop_back();
  }
  double value = 0;
  if ((binary_marker && unit == std::string::npos) || !parse_decimal(number, value)
      || value * multiplier < 1 || value * multiplier > 9e18)
    throw std::invalid_argument(fmt::format(
        "{} '{}' is not a valid size; give bytes or a number with K, M, G or T, such as 512M or 4G",
        flag, text));
  return static_cast<int64_t>(value * multiplier);
}

namespace {

struct duration_unit {
  const char* suffix;
  int64_t ms;
};
// Largest first, for formatting.
constexpr duration_unit duration_units[]
    = {{"d", 86'400'000}, {"h", 3'600'000}, {"m", 60'000}, {"s", 1'000}, {"ms", 1}};

} // namespace

int64_t parse_duration_ms(const std::string& text, const std::string& flag) {
  // The number, then its unit: "1.5h" is 1.5 and "h".
  const auto unit_at = std::min(text.find_first_not_of("0123456789."), text.size());
  const auto suffix = text.substr(unit_at);
  const duration_unit* unit = nullptr;
  for (const auto& candidate : duration_units)
    if (suffix == candidate.suffix)
      unit = &candidate;
  double value = 0;
  if (unit == nullptr || !parse_decimal(text.substr(0, unit_at), value)
      || value * static_cast<double>(unit->ms) < 1 || value * static_cast<double>(unit->ms) > 9e15)
    throw std::invalid_argument(fmt::format(
        "{} '{}' is not a duration; give a number with ms, s, m, h or d, such as 30s or 1.5h", flag,
        text));
  return static_cast<int64_t>(value * static_cast<double>(unit->ms));
}

std::string format_duration_ms(int64_t ms) {
  for (const auto& unit : duration_units)
    if (ms >= unit.ms && ms % (unit.ms / 10 == 0 ? 1 : unit.ms / 10) == 0)
      return fmt::format("{:g}{}", static_cast<double>(ms) / static_cast<double>(unit.ms),
                         unit.suffix);
  return fmt::format("{}ms", ms);
}

std::string format_cpus(int64_t cpu_millis) {
  return fmt::format("{:g}", static_cast<double>(cpu_millis) / 1000.0);
}

std::string format_bytes(int64_t bytes) {
  static const char* suffixes[] = {"", "K", "M", "G", "T"};
  double value = static_cast<double>(bytes);
  int i = 0;
  while (value >= 1024 && i < 4) {
    value /= 1024;
    ++i;
  }
  return fmt::format("{:.4g}{}", value, suffixes[i]);
}

} // namespace claud::state
