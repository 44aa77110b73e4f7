// The pure placement function against cluster size: placements per second on 10, 1,000 and
// 10,000 nodes (each placement reserves its resources, as a scheduler pass does). Target:
// >= 100,000 placements/s at 10,000 nodes, and a cost no worse than linear in nodes.
//
//   build/bench/placement_bench   (make bench; `make test` runs a smoke size)

#include <iostream>
#include <random>

#include <catch2/catch.hpp>
#include <fmt/format.h>

#include "baseline.hpp"
#include "sched/placement.hpp"
#include "stats.hpp"
#include "workload.hpp"

namespace {

using namespace claud;

/// `count` alive slaves of 4 to 64 CPUs and 8 to 256 GiB, from a fixed seed.
std::vector<pb::Node> nodes_of(size_t count) {
  std::mt19937_64 rng{42};
  std::uniform_int_distribution<int> size(1, 16);
  std::vector<pb::Node> nodes(count);
  for (size_t i = 0; i < count; ++i) {
    auto& node = nodes[i];
    node.set_id(fmt::format("s{:05}", i));
    node.set_role(pb::ROLE_SLAVE);
    node.set_state(pb::NODE_ALIVE);
    auto units = size(rng);
    node.set_cpu_millis_total(units * 4000);
    node.set_memory_bytes_total(int64_t{units} * 16 << 30);
  }
  return nodes;
}

} // namespace

TEST_CASE("placements per second against cluster size") {
  const auto placements
      = static_cast<size_t>(bench::size_from_env("CLAUD_BENCH_PLACEMENTS", 2000, 100));
  auto spec = bench::trivial_job();
  std::cout << fmt::format("{:>8} {:>12} {:>16} {:>14}\n", "nodes", "placements", "placements/s",
                           "us/placement");
  for (size_t count : {size_t{10}, size_t{1000}, size_t{10000}}) {
    auto nodes = nodes_of(count);
    size_t placed = 0;
    auto start = std::chrono::steady_clock::now();
    for (size_t i = 0; i < placements; ++i) {
      auto where = sched::place(nodes, spec);
      if (where.node_id.empty())
        break; // full
      auto index = std::stoul(where.node_id.substr(1));
      sched::reserve(nodes[index], spec);
      ++placed;
    }
    double seconds = bench::elapsed_ms(start) / 1000.0;
    double rate = static_cast<double>(placed) / seconds;
    std::cout << fmt::format("{:>8} {:>12} {:>16.0f} {:>14.2f}\n", count, placed, rate, 1e6 / rate);
    std::cout << fmt::format("{{\"bench\":\"placement\",\"nodes\":{},\"placements\":{},"
                             "\"placements_per_s\":{:.0f}}}\n",
                             count, placed, rate);
    CHECK(placed == placements);
  }
}
