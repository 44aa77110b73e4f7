// Placement against cluster size: placements per second on 10, 1,000 and 10,000 nodes, with
// the index of the nodes by free capacity a scheduler pass builds (its build counted in its time;
// the last column leaves it out) and, in the same run, the linear place() it replaces. Each
// placement reserves its resources, as a scheduler pass does; both must choose the same nodes.
// Each figure is the median of three runs. Target: >= 100,000 placements/s at 10,000 nodes, and a
// cost no worse than linear in nodes.
//
//   build/bench/placement_bench   (make bench; `make test` runs a smoke size)

#include <algorithm>
#include <iostream>
#include <random>

#include <catch2/catch.hpp>
#include <fmt/format.h>

#include "baseline.hpp"
#include "sched/placement.hpp"
#include "sched/placement_index.hpp"
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

struct run {
  std::vector<std::string> chosen; // node ids in order
  double seconds = 0;
  double build_ms = 0; // the index's construction, included in `seconds`
};

/// `placements` trivial jobs placed one after another on a fresh `nodes_of(count)`, each reserved
/// where it went, with the linear place() or with an index built from the nodes.
run place_all(size_t count, size_t placements, bool indexed) {
  auto nodes = nodes_of(count);
  auto spec = bench::trivial_job();
  run out;
  out.chosen.reserve(placements);
  auto start = std::chrono::steady_clock::now();
  if (indexed) {
    sched::placement_index index{nodes};
    out.build_ms = bench::elapsed_ms(start);
    for (size_t i = 0; i < placements; ++i) {
      auto where = index.place(spec);
      if (where.node_id.empty())
        break; // full
      index.reserve(where.node_id, spec);
      out.chosen.push_back(std::move(where.node_id));
    }
  } else {
    for (size_t i = 0; i < placements; ++i) {
      auto where = sched::place(nodes, spec);
      if (where.node_id.empty())
        break; // full
      sched::reserve(nodes[std::stoul(where.node_id.substr(1))], spec);
      out.chosen.push_back(std::move(where.node_id));
    }
  }
  out.seconds = bench::elapsed_ms(start) / 1000.0;
  return out;
}

/// The median of three runs by time, so that one run slowed by other work on the machine does
/// not make the figure.
run median_of_three(size_t count, size_t placements, bool indexed) {
  std::vector<run> runs;
  for (int i = 0; i < 3; ++i)
    runs.push_back(place_all(count, placements, indexed));
  std::sort(runs.begin(), runs.end(),
            [](const run& a, const run& b) { return a.seconds < b.seconds; });
  return std::move(runs[1]);
}

} // namespace

TEST_CASE("placements per second against cluster size") {
  const auto placements
      = static_cast<size_t>(bench::size_from_env("CLAUD_BENCH_PLACEMENTS", 2000, 100));
  std::cout << fmt::format("{:>8} {:>8} {:>12} {:>16} {:>14} {:>10} {:>16}\n", "nodes", "method",
                           "placements", "placements/s", "us/placement", "build ms",
                           "w/o build /s");
  for (size_t count : {size_t{10}, size_t{1000}, size_t{10000}}) {
    auto index = median_of_three(count, placements, true);
    auto linear = median_of_three(count, placements, false);
    for (const auto& [method, result] :
         {std::pair{"index", &index}, std::pair{"linear", &linear}}) {
      auto placed = static_cast<double>(result->chosen.size());
      double rate = placed / result->seconds;
      double without_build = placed / (result->seconds - result->build_ms / 1000.0);
      std::cout << fmt::format("{:>8} {:>8} {:>12} {:>16.0f} {:>14.2f} {:>10.2f} {:>16.0f}\n",
                               count, method, result->chosen.size(), rate, 1e6 / rate,
                               result->build_ms, without_build);
      std::cout << fmt::format("{{\"bench\":\"placement\",\"method\":\"{}\",\"nodes\":{},"
                               "\"placements\":{},\"placements_per_s\":{:.0f},"
                               "\"build_ms\":{:.3f},\"placements_per_s_without_build\":{:.0f}}}\n",
                               method, count, result->chosen.size(), rate, result->build_ms,
                               without_build);
      CHECK(result->chosen.size() == placements);
    }
    CHECK(index.chosen == linear.chosen);
  }
}
