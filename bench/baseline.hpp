#pragma once
// What this machine can do without claud, measured in the same run as every benchmark so the
// figures can be compared: spawning and reaping a trivial process, and one small fsync'd append.

#include <cstddef>
#include <string>

namespace claud::bench {

struct spawn_baseline {
  double processes_per_second = 0; // `/bin/true`, spawned and reaped, `parallelism` at a time
  size_t parallelism = 1;
};

/// Spawns and reaps `count` `/bin/true` processes, `parallelism` in flight.
spawn_baseline measure_spawn_rate(size_t count, size_t parallelism);

struct fsync_baseline {
  double p50_ms = 0;
  double p99_ms = 0;
};

/// Appends `count` records of 200 bytes to a file in `dir`, each followed by fdatasync.
fsync_baseline measure_fsync(const std::string& dir, size_t count);

} // namespace claud::bench
