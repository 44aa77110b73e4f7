// Commit latency and throughput of writes (job submissions) on 3 real masters: one client at a
// time, then 64 concurrent, through the leader; with how many log entries each fsync carried on
// the leader; on a cluster without TLS, then on one with mutual TLS on every connection. Beside
// them, this disk's raw latency of a small fsync'd append, measured in the same run. Prints a
// table and one JSON line per case.
//
//   CLAUD_BENCH_WRITES=5000 build/bench/commit_bench   (make bench; `make test` runs a smoke size)

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
#include "stats.hpp"
#include "workload.hpp"

namespace {

using namespace claud;
using claud::test::cluster;

size_t writes() {
  return static_cast<size_t>(bench::size_from_env("CLAUD_BENCH_WRITES", 200, 64));
}

struct load_result {
  std::vector<double> latency_ms;
  double seconds = 0;
  size_t failures = 0;
};

/// Sends `count` submissions to `api`, keeping `in_flight` outstanding, from one actor.
load_result run_load(caf::actor_system& system, const caf::actor& api, size_t count,
                     size_t in_flight) {
  const auto spec = bench::trivial_job();
  load_result result;
  auto start = std::chrono::steady_clock::now();
  {
    caf::scoped_actor self{system};
    using handle_type = decltype(self->request(api, caf::infinite, submit_atom::value, spec));
    std::deque<std::pair<handle_type, std::chrono::steady_clock::time_point>> outstanding;
    size_t sent = 0;
    auto send_one = [&] {
      auto now = std::chrono::steady_clock::now();
      outstanding.emplace_back(
          self->request(api, std::chrono::seconds{30}, submit_atom::value, spec), now);
      ++sent;
    };
    while (sent < std::min(in_flight, count))
      send_one();
    // Answers arrive in commit order, which is the order of sending, so the oldest is next.
    while (!outstanding.empty()) {
      auto [handle, started] = std::move(outstanding.front());
      outstanding.pop_front();
      handle.receive(
          [&](const pb::Job&) { result.latency_ms.push_back(bench::elapsed_ms(started)); },
          [&](const caf::error&) { ++result.failures; });
      if (sent < count)
        send_one();
    }
  }
  result.seconds = bench::elapsed_ms(start) / 1000.0;
  return result;
}

/// The client's TLS files on a cluster that use_tls() set up; empty without TLS.
struct client_tls {
  std::string ca, cert, key;
};

client_tls tls_of(const cluster& c, bool tls) {
  if (!tls)
    return {};
  return {c.tls_dir() + "/ca.pem", c.tls_dir() + "/operator.pem",
          c.tls_dir() + "/operator-key.pem"};
}

pb::LeaderInfo leader_stats(const std::string& address, const client_tls& tls) {
  client_options options;
  options.addresses = {address};
  options.tls_ca = tls.ca;
  options.tls_cert = tls.cert;
  options.tls_key = tls.key;
  return client{options}.leader(read_mode::local);
}

/// Both loads on a fresh cluster of 3 masters, with or without TLS.
void measure(bool tls, const bench::fsync_baseline& fsync) {
  cluster c;
  if (tls)
    c.use_tls();
  c.start_masters({"m1", "m2", "m3"});
  auto leader_address = c.address(c.leader_name());
  auto files = tls_of(c, tls);

  caf::actor_system_config cfg;
  configure_tls(cfg, files.ca, files.cert, files.key);
  configure_networked_system(cfg);
  caf::actor_system system{cfg};
  auto where = net::parse_host_port(leader_address);
  auto api = system.middleman().remote_actor(where.host, where.port);
  REQUIRE(api);

  for (size_t clients : {size_t{1}, size_t{64}}) {
    auto before = leader_stats(leader_address, files);
    auto result = run_load(system, *api, writes(), clients);
    auto after = leader_stats(leader_address, files);
    double per_sync = after.syncs() > before.syncs()
                          ? static_cast<double>(after.entries_written() - before.entries_written())
                                / static_cast<double>(after.syncs() - before.syncs())
                          : 0;
    double rate = static_cast<double>(result.latency_ms.size()) / result.seconds;
    auto p50 = bench::percentile(result.latency_ms, 50);
    auto p99 = bench::percentile(result.latency_ms, 99);
    std::cout << fmt::format("{:<5} {:<8} {:>7} {:>10.2f} {:>10.2f} {:>12.0f} {:>16.1f}\n",
                             tls ? "on" : "off", clients, result.latency_ms.size(), p50, p99, rate,
                             per_sync);
    std::cout << fmt::format(
        "{{\"bench\":\"commit\",\"tls\":{},\"clients\":{},\"writes\":{},\"p50_ms\":{:.3f},"
        "\"p99_ms\":{:.3f},\"writes_per_s\":{:.0f},\"entries_per_fsync\":"
        "{:.2f},\"fsync_p50_ms\":{:.3f}}}\n",
        tls, clients, result.latency_ms.size(), p50, p99, rate, per_sync, fsync.p50_ms);
    CHECK(result.failures == 0);
  }
}

} // namespace

TEST_CASE("commit latency and throughput of writes on 3 masters, without and with TLS") {
  cluster scratch; // a dir on the same disk as the clusters' data dirs
  auto fsync = bench::measure_fsync(scratch.root(), 200);
  std::cout << fmt::format("baseline: one 200-byte append + fdatasync: p50 {:.2f} ms, p99 {:.2f} "
                           "ms\n",
                           fsync.p50_ms, fsync.p99_ms);
  std::cout << fmt::format("{:<5} {:<8} {:>7} {:>10} {:>10} {:>12} {:>16}\n", "tls", "clients",
                           "writes", "p50 ms", "p99 ms", "writes/s", "entries/fsync");
  measure(false, fsync);
  measure(true, fsync);
}
