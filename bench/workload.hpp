#pragma once
// What the benchmarks submit, and how big a run is.

#include <algorithm>
#include <cstdlib>

#include "cluster.pb.h"

namespace claud::bench {

/// A size from the environment (`make bench` sets full sizes), else the smoke size `make test`
/// runs; never below `minimum`.
inline int size_from_env(const char* name, int smoke, int minimum) {
  const char* text = std::getenv(name);
  return text != nullptr ? std::max(minimum, std::atoi(text)) : smoke;
}

/// The cheapest job there is: `true`, with the smallest resources a spec may ask for.
inline pb::JobSpec trivial_job() {
  pb::JobSpec spec;
  spec.add_argv("true");
  spec.set_cpu_millis(100);
  spec.set_memory_bytes(64 << 20);
  return spec;
}

} // namespace claud::bench
