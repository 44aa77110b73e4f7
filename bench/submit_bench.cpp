// Concurrent submitters against 3 real masters and a slave: 1, 8 and 32 clients, each running
// `claud submit -- true` processes one after another (a new process and connection per
// submission, as shells and scripts do). Prints submissions per second, p50/p99/max latency per
// submission and how many went unanswered (target: none), beside the machine's raw spawn rate.
//
//   CLAUD_BENCH_SUBMISSIONS=2000 build/bench/submit_bench   (make bench; `make test`: 48 each)

#include <iostream>
#include <mutex>
#include <thread>

#include <catch2/catch.hpp>
#include <fmt/format.h>

#include "baseline.hpp"
#include "cluster.hpp"
#include "stats.hpp"
#include "workload.hpp"

namespace {

using namespace claud;
using claud::test::cluster;

struct outcome {
  std::vector<double> latencies_ms;
  size_t unanswered = 0;
  double seconds = 0;
};

/// `submissions` in all, shared by `clients` threads, each one `claud submit` process at a time.
outcome submit_concurrently(const cluster& c, int clients, int submissions) {
  outcome out;
  std::mutex mutex;
  int next = 0;
  auto start = std::chrono::steady_clock::now();
  std::vector<std::thread> threads;
  for (int i = 0; i < clients; ++i)
    threads.emplace_back([&] {
      for (;;) {
        {
          std::lock_guard<std::mutex> lock{mutex};
          if (next == submissions)
            return;
          ++next;
        }
        auto sent = std::chrono::steady_clock::now();
        auto r = c.run({"submit", "--", "true"}, std::chrono::seconds{30});
        double ms = bench::elapsed_ms(sent);
        std::lock_guard<std::mutex> lock{mutex};
        out.latencies_ms.push_back(ms);
        out.unanswered += r.exit_code == 0 ? 0 : 1;
      }
    });
  for (auto& t : threads)
    t.join();
  out.seconds = bench::elapsed_ms(start) / 1000.0;
  return out;
}

} // namespace

TEST_CASE("concurrent submitters: every submission answered, at what rate and latency") {
  const int submissions = bench::size_from_env("CLAUD_BENCH_SUBMISSIONS", 48, 1);
  cluster c;
  c.start_masters({"m1", "m2", "m3"});
  c.start_slave("s1", "2", "2G", {"--cgroups", "off"});
  auto baseline = bench::measure_spawn_rate(500, 2);
  std::cout << fmt::format("baseline: {:.0f} spawns of /bin/true per second (2 at a time)\n",
                           baseline.processes_per_second);
  std::cout << fmt::format("{:>8} {:>12} {:>14} {:>9} {:>9} {:>9} {:>11}\n", "clients",
                           "submissions", "submissions/s", "p50 ms", "p99 ms", "max ms",
                           "unanswered");
  size_t unanswered = 0;
  for (int clients : {1, 8, 32}) {
    auto out = submit_concurrently(c, clients, submissions);
    auto rate = static_cast<double>(out.latencies_ms.size()) / out.seconds;
    auto p50 = bench::percentile(out.latencies_ms, 50);
    auto p99 = bench::percentile(out.latencies_ms, 99);
    auto max = bench::max_of(out.latencies_ms);
    std::cout << fmt::format("{:>8} {:>12} {:>14.0f} {:>9.1f} {:>9.1f} {:>9.1f} {:>11}\n", clients,
                             submissions, rate, p50, p99, max, out.unanswered);
    std::cout << fmt::format(
        "{{\"bench\":\"submit\",\"clients\":{},\"submissions\":{},\"per_second\":{:.1f},"
        "\"p50_ms\":{:.1f},\"p99_ms\":{:.1f},\"max_ms\":{:.1f},\"unanswered\":{},"
        "\"raw_spawns_per_second\":{:.0f}}}\n",
        clients, submissions, rate, p50, p99, max, out.unanswered, baseline.processes_per_second);
    unanswered += out.unanswered;
  }
  CHECK(unanswered == 0);
}
