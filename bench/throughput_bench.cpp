// Trivial jobs (`true`) through a local cluster of 3 masters and 2 slaves: jobs per second from
// the first submission to the last completion, beside the raw rate of spawning and reaping `true`
// at the same parallelism, measured in the same run before and after claud's (target: >= 50 % of
// their mean); and the latency of one job at a time, from submit to observed completion (target
// p50 <= 5 ms).
//
//   CLAUD_BENCH_JOBS=10000 build/bench/throughput_bench   (make bench; `make test`: smoke size)

#include <deque>
#include <iostream>

#include <caf/all.hpp>
#include <caf/io/all.hpp>
#include <catch2/catch.hpp>
#include <fmt/format.h>

#include "baseline.hpp"
#include "claud/client.hpp"
#include "claud/protocol.hpp"
#include "cluster.hpp"
#include "net/address.hpp"
#include "process_usage.hpp"
#include "stats.hpp"
#include "workload.hpp"

namespace {

using namespace claud;
using claud::test::cluster;

/// Submits `count` trivial jobs to `api` with `in_flight` outstanding; returns the ids.
std::vector<std::string> submit_all(caf::actor_system& system, const caf::actor& api, size_t count,
                                    size_t in_flight) {
  const auto spec = bench::trivial_job();
  std::vector<std::string> ids;
  caf::scoped_actor self{system};
  using handle_type = decltype(self->request(api, caf::infinite, submit_atom::value, spec));
  std::deque<handle_type> outstanding;
  size_t sent = 0;
  while (ids.size() < count) {
    while (sent < count && outstanding.size() < in_flight) {
      outstanding.push_back(self->request(api, std::chrono::seconds{30}, submit_atom::value, spec));
      ++sent;
    }
    auto handle = std::move(outstanding.front());
    outstanding.pop_front();
    handle.receive([&](const pb::Job& job) { ids.push_back(job.id()); },
                   [&](const caf::error& err) { throw std::runtime_error(error_message(err)); });
  }
  return ids;
}

} // namespace

TEST_CASE("throughput of trivial jobs, and the latency of one at a time") {
  const auto jobs = static_cast<size_t>(bench::size_from_env("CLAUD_BENCH_JOBS", 300, 50));
  const size_t slots = 40; // 2 slaves x 2 CPUs / 0.1 CPU per job
  cluster c;
  c.start_masters({"m1", "m2", "m3"});
  // CLAUD_BENCH_CGROUPS=off measures without job limits (the default: what the slaves can do).
  const char* cgroups = std::getenv("CLAUD_BENCH_CGROUPS");
  const std::vector<std::string> slave_flags{std::string{"--cgroups="}
                                             + (cgroups ? cgroups : "auto")};
  c.start_slave("s1", "2", "8G", slave_flags);
  c.start_slave("s2", "2", "8G", slave_flags);
  const auto limits = c.node_record("s1")["limits"];
  // The raw rate is measured before and after claud's run and averaged: on a shared machine it
  // drifts by tens of percent within minutes, and one side alone skews the ratio.
  const size_t raw_count = std::min<size_t>(jobs, 2000);
  const double raw_before = bench::measure_spawn_rate(raw_count, slots).processes_per_second;

  caf::actor_system_config cfg;
  configure_networked_system(cfg);
  caf::actor_system system{cfg};
  auto leader = net::parse_host_port(c.address(c.leader_name()));
  auto api = system.middleman().remote_actor(leader.host, leader.port);
  REQUIRE(api);
  client_options options;
  options.addresses = {c.address(c.leader_name())};
  client cluster_client{options};

  const auto index_before = cluster_client.leader(read_mode::local).commit_index();
  auto start = std::chrono::steady_clock::now();
  // Waits for many jobs at once (held on the leader until the last one ends), as `claud wait`
  // does: waiting job by job cost the cluster a request and an answer per job. In windows of
  // 5,000: a wait holds its jobs' parsed records on the leader (1.6 KiB each), and one wait of
  // 100,000 would measure that wait, not the state the ended jobs leave.
  const auto ids = submit_all(system, *api, jobs, 64);
  for (size_t from = 0; from < ids.size(); from += 5000) {
    std::vector<std::string> window(
        ids.begin() + static_cast<std::ptrdiff_t>(from),
        ids.begin() + static_cast<std::ptrdiff_t>(std::min(from + 5000, ids.size())));
    for (const auto& job : cluster_client.wait_all(window))
      REQUIRE(job.state() == pb::JOB_SUCCEEDED);
  }
  double seconds = bench::elapsed_ms(start) / 1000.0;
  double rate = static_cast<double>(jobs) / seconds;
  const auto entries = cluster_client.leader(read_mode::local).commit_index() - index_before;

  std::vector<double> latency;
  for (int i = 0; i < 50; ++i) {
    auto one = std::chrono::steady_clock::now();
    auto job = cluster_client.wait(cluster_client.submit(bench::trivial_job()).id());
    latency.push_back(bench::elapsed_ms(one));
    REQUIRE(job.state() == pb::JOB_SUCCEEDED);
  }
  auto p50 = bench::percentile(latency, 50);
  // What the ended jobs cost each master: all of them are still in the state (retention 1 day).
  const auto leader_name = c.leader_name();
  std::string masters_rss;
  long long leader_rss = 0;
  for (const auto& name : c.master_names()) {
    const auto rss = bench::rss_bytes(c.node(name).pid);
    if (name == leader_name)
      leader_rss = rss;
    masters_rss += fmt::format("{}{} {:.0f} MiB{}", masters_rss.empty() ? "" : ", ", name,
                               static_cast<double>(rss) / (1 << 20),
                               name == leader_name ? " (leader)" : "");
  }
  const double raw_after = bench::measure_spawn_rate(raw_count, slots).processes_per_second;
  const double raw = (raw_before + raw_after) / 2;
  std::cout << fmt::format("raw spawn+reap of /bin/true, {} at a time: {:.0f}/s (mean of {:.0f}/s "
                           "before claud's run and {:.0f}/s after)\n",
                           slots, raw, raw_before, raw_after);
  std::cout << fmt::format("job limits on the slaves: memory {}, cpu {} ({})\n",
                           limits["memory"].boolean(), limits["cpu"].boolean(),
                           limits["mechanism"].str());
  std::cout << fmt::format("claud, {} jobs through 3 masters and 2 slaves: {:.0f} jobs/s ({:.0f} % "
                           "of raw; target >= 50 %)\n",
                           jobs, rate, 100.0 * rate / raw);
  std::cout << fmt::format("log entries committed per job: {:.2f}\n",
                           static_cast<double>(entries) / static_cast<double>(jobs));
  std::cout << fmt::format("one job at a time, submit to completion: p50 {:.2f} ms, p99 {:.2f} ms "
                           "(target p50 <= 5 ms)\n",
                           p50, bench::percentile(latency, 99));
  std::cout << fmt::format("resident memory of the masters with {} ended jobs in the state: {}\n",
                           jobs + latency.size(), masters_rss);
  std::cout << fmt::format("{{\"bench\":\"throughput\",\"jobs\":{},\"jobs_per_s\":{:.0f},"
                           "\"raw_spawn_per_s\":{:.0f},\"raw_spawn_before_per_s\":{:.0f},\"raw_"
                           "spawn_after_per_s\":{:.0f},"
                           "\"entries_per_job\":{:.2f},\"one_job_p50_ms\":{:.3f},"
                           "\"leader_rss_bytes\":{}}}\n",
                           jobs, rate, raw, raw_before, raw_after,
                           static_cast<double>(entries) / static_cast<double>(jobs), p50,
                           leader_rss);
}
