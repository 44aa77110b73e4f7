// How long a snapshot holds the raft thread: the state's snapshot(), which serializes the nodes
// and shares the rest (each live job's bytes, made again by apply at its every change, and the
// ended jobs' frozen chunks). Printed for the first snapshot and for later ones (the median of
// five), beside what a snapshot cost that thread when it serialized the whole state in place (the
// baseline, measured in the same run on the same state, median of five), the writer thread's part
// (bytes(): the parts concatenated), and what apply costs an entry while the state is built (it
// makes the changed job's bytes). Sizes: 10,000 live jobs (running) and 100,000 ended ones on 100
// nodes. Target: the raft thread's part a few milliseconds.
//
//   CLAUD_BENCH_LIVE_JOBS=10000 CLAUD_BENCH_ENDED_JOBS=100000 build/bench/snapshot_bench
//   (the defaults; `make test` runs a smoke size)

#include <iostream>
#include <stdexcept>

#include <catch2/catch.hpp>
#include <fmt/format.h>

#include "state/cluster_state.hpp"
#include "stats.hpp"
#include "workload.hpp"

namespace {

using namespace claud;

/// Feeds a cluster_state entries with consecutive indices, one millisecond apart.
struct state_builder {
  state::cluster_state state;
  uint64_t index = 0;

  /// Applies `entry`, which must change the state; returns the job it was about.
  std::string apply(pb::LogEntry entry) {
    entry.set_index(++index);
    entry.set_time_ms(static_cast<int64_t>(index));
    auto result = state.apply(entry);
    if (!result.applied)
      throw std::logic_error("the bench's entry " + std::to_string(index)
                             + " was refused: " + result.error);
    return result.job_id;
  }

  void register_node(const std::string& id) {
    pb::LogEntry e;
    auto* node = e.mutable_node_registered()->mutable_node();
    node->set_id(id);
    node->set_role(pb::ROLE_SLAVE);
    node->set_address(id + ".example:7400");
    node->set_cpu_millis_total(1'000'000);
    node->set_memory_bytes_total(int64_t{1} << 40);
    apply(std::move(e));
  }

  /// Submits one job, places and starts it on `node`; returns its id.
  std::string run_job(const std::string& node) {
    pb::LogEntry submit;
    auto* spec = submit.mutable_job_submitted()->mutable_spec();
    *spec = bench::trivial_job();
    spec->set_fail_on_node_lost(true);
    std::string id = apply(std::move(submit));
    pb::LogEntry placed;
    placed.mutable_job_placed()->set_job_id(id);
    placed.mutable_job_placed()->set_node_id(node);
    apply(std::move(placed));
    pb::LogEntry started;
    started.mutable_job_started()->set_job_id(id);
    started.mutable_job_started()->set_node_id(node);
    started.mutable_job_started()->set_attempt(1);
    apply(std::move(started));
    return id;
  }

  void exit_job(const std::string& id, const std::string& node) {
    pb::LogEntry e;
    auto* op = e.mutable_job_finished();
    op->set_job_id(id);
    op->set_node_id(node);
    op->set_attempt(1);
    op->set_has_exit_code(true);
    op->set_exit_code(0);
    apply(std::move(e));
  }
};

template<typename F>
double median_ms_of_five(F&& f) {
  std::vector<double> times;
  for (int i = 0; i < 5; ++i) {
    auto start = std::chrono::steady_clock::now();
    f();
    times.push_back(bench::elapsed_ms(start));
  }
  return bench::percentile(times, 50);
}

} // namespace

TEST_CASE("how long a snapshot holds the raft thread") {
  const auto live = static_cast<size_t>(bench::size_from_env("CLAUD_BENCH_LIVE_JOBS", 500, 1));
  const auto ended = static_cast<size_t>(bench::size_from_env("CLAUD_BENCH_ENDED_JOBS", 5000, 1));
  state_builder b;
  for (int n = 0; n < 100; ++n)
    b.register_node(fmt::format("s{:03}", n));
  auto building = std::chrono::steady_clock::now();
  for (size_t i = 0; i < ended; ++i) {
    std::string node = fmt::format("s{:03}", i % 100);
    b.exit_job(b.run_job(node), node);
  }
  for (size_t i = 0; i < live; ++i)
    b.run_job(fmt::format("s{:03}", i % 100));
  const double apply_us = bench::elapsed_ms(building) * 1000 / static_cast<double>(b.index - 100);
  REQUIRE(b.state.job_count() == live + ended);

  state::state_snapshot taken;
  auto start = std::chrono::steady_clock::now();
  taken = b.state.snapshot();
  double first_ms = bench::elapsed_ms(start);
  double later_ms = median_ms_of_five([&] { taken = b.state.snapshot(); });
  std::string bytes;
  double writer_ms = median_ms_of_five([&] { bytes = taken.bytes(); });
  // The baseline: the whole state parsed in one message, serialized where it lies, as the raft
  // thread did before ended jobs were frozen and the write moved off it.
  const pb::ClusterState whole = b.state.whole();
  std::string baseline_bytes;
  double baseline_ms = median_ms_of_five([&] { baseline_bytes = whole.SerializeAsString(); });

  std::cout << fmt::format("{:>10} {:>10} {:>12} {:>16} {:>16} {:>10} {:>20} {:>16}\n", "live jobs",
                           "ended", "snapshot MB", "raft ms, first", "raft ms, later", "writer ms",
                           "baseline (whole) ms", "apply us/entry");
  std::cout << fmt::format("{:>10} {:>10} {:>12.1f} {:>16.2f} {:>16.2f} {:>10.2f} {:>20.2f} "
                           "{:>16.2f}\n",
                           live, ended, static_cast<double>(bytes.size()) / 1e6, first_ms, later_ms,
                           writer_ms, baseline_ms, apply_us);
  std::cout << fmt::format("{{\"bench\":\"snapshot\",\"live_jobs\":{},\"ended_jobs\":{},"
                           "\"snapshot_bytes\":{},\"raft_thread_first_ms\":{:.3f},"
                           "\"raft_thread_later_ms\":{:.3f},\"writer_ms\":{:.3f},"
                           "\"baseline_whole_ms\":{:.3f},\"apply_us_per_entry\":{:.3f}}}\n",
                           live, ended, bytes.size(), first_ms, later_ms, writer_ms, baseline_ms,
                           apply_us);
  // The parts make the same state as the whole: the snapshot format did not change.
  pb::ClusterState parsed;
  REQUIRE(parsed.ParseFromString(bytes));
  CHECK(parsed.jobs_size() == static_cast<int>(live + ended));
  CHECK(bytes.size() == baseline_bytes.size());
}
