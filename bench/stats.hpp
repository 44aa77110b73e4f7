#pragma once
// Small helpers every benchmark uses: percentiles and elapsed time.

#include <algorithm>
#include <chrono>
#include <cmath>
#include <vector>

namespace claud::bench {

/// The p-th percentile (nearest rank) of `values`; 0 when empty.
inline double percentile(std::vector<double> values, double p) {
  if (values.empty())
    return 0;
  std::sort(values.begin(), values.end());
  auto rank = static_cast<size_t>(std::ceil(p / 100.0 * static_cast<double>(values.size())));
  return values[std::clamp<size_t>(rank, 1, values.size()) - 1];
}

inline double max_of(const std::vector<double>& values) {
  return values.empty() ? 0 : *std::max_element(values.begin(), values.end());
}

inline double elapsed_ms(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - since)
      .count();
}

} // namespace claud::bench
