// The event stream's cost and rate: trivial jobs through a local cluster of 3 masters and 2
// slaves with no subscriber, 1 and 100 subscribers of every event at the leader (actors of the
// cluster actor, include/claud/cluster.hpp), in rounds 0, 1, 100, 0, 1, 100 so drift on a shared
// machine falls on every side. Prints jobs per second and the cost beside no subscriber (target:
// under 10 % slower with 100), events delivered per second, and the raw spawn rate measured in
// the same run.
//
//   CLAUD_BENCH_JOBS=2000 build/bench/events_bench   (make bench; `make test`: smoke size)

#include <atomic>
#include <deque>
#include <iostream>
#include <map>

#include <caf/all.hpp>
#include <caf/io/all.hpp>
#include <catch2/catch.hpp>
#include <fmt/format.h>

#include "baseline.hpp"
#include "claud/cluster.hpp"
#include "claud/protocol.hpp"
#include "cluster.hpp"
#include "net/address.hpp"
#include "process_usage.hpp"
#include "stats.hpp"
#include "workload.hpp"

namespace {

using namespace claud;
using claud::test::cluster;

struct counters {
  std::atomic<uint64_t> events{0};
  std::atomic<int> ready{0}; // subscribers whose snapshot has arrived
};

caf::behavior subscriber(caf::event_based_actor*, std::shared_ptr<counters> count) {
  return {
      [=](events_atom, const pb::EventBatch& batch) {
        if (batch.snapshot_done())
          ++count->ready;
        if (!batch.snapshot())
          count->events += static_cast<uint64_t>(batch.events_size());
      },
  };
}

/// Submits `count` trivial jobs with 64 in flight and waits for all with held waits (the api's
/// (wait_atom, JobIds), which subscribes to nothing): returns the seconds from first to last.
double run_jobs(caf::scoped_actor& self, const caf::actor& api, size_t count) {
  const auto spec = bench::trivial_job();
  const auto start = std::chrono::steady_clock::now();
  using handle_type = decltype(self->request(api, caf::infinite, submit_atom::value, spec));
  std::deque<handle_type> outstanding;
  pb::JobIds waiting;
  size_t sent = 0;
  while (static_cast<size_t>(waiting.ids_size()) < count) {
    while (sent < count && outstanding.size() < 64) {
      outstanding.push_back(self->request(api, std::chrono::seconds{30}, submit_atom::value, spec));
      ++sent;
    }
    auto handle = std::move(outstanding.front());
    outstanding.pop_front();
    handle.receive([&](const pb::Job& job) { waiting.add_ids(job.id()); },
                   [&](const caf::error& err) { throw std::runtime_error(error_message(err)); });
  }
  while (waiting.ids_size() > 0) {
    pb::JobIds still;
    self->request(api, std::chrono::seconds{10}, wait_atom::value, waiting)
        .receive(
            [&](const pb::JobList& jobs) {
              for (const auto& job : jobs.jobs())
                if (job.state() != pb::JOB_SUCCEEDED)
                  still.add_ids(job.id());
            },
            [&](const caf::error& err) { throw std::runtime_error(error_message(err)); });
    waiting = std::move(still);
  }
  return bench::elapsed_ms(start) / 1000.0;
}

struct round_result {
  double jobs_per_s = 0;
  double events_per_s = 0;
  double leader_cpu_ms_per_job = 0;      // what the leader spent
  double subscribers_cpu_ms_per_job = 0; // what this process (submitter and subscribers) spent
};

round_result run_round(caf::actor_system& system, const caf::actor& api,
                       const caf::actor& cluster_actor, pid_t leader, int subscribers,
                       size_t jobs) {
  auto count = std::make_shared<counters>();
  caf::scoped_actor self{system};
  std::vector<caf::actor> actors;
  for (int i = 0; i < subscribers; ++i) {
    actors.push_back(system.spawn(subscriber, count));
    self->request(cluster_actor, std::chrono::seconds{10}, events_atom::value, pb::EventFilter{},
                  actors.back())
        .receive([](uint64_t) {},
                 [](const caf::error& err) { throw std::runtime_error(error_message(err)); });
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds{20};
  while (count->ready < subscribers) {
    if (std::chrono::steady_clock::now() > deadline)
      throw std::runtime_error("the subscribers' snapshots did not arrive");
    std::this_thread::sleep_for(std::chrono::milliseconds{10});
  }
  count->events = 0;
  const double leader_cpu = bench::cpu_seconds(leader);
  const double own_cpu = bench::cpu_seconds(::getpid());
  const double seconds = run_jobs(self, api, jobs);
  // The events of the last entries are still on their way: what arrived while the jobs ran is
  // what the rate counts.
  round_result out;
  out.jobs_per_s = static_cast<double>(jobs) / seconds;
  out.events_per_s = static_cast<double>(count->events.load()) / seconds;
  const double per_job_ms = 1000.0 / static_cast<double>(jobs);
  out.leader_cpu_ms_per_job = (bench::cpu_seconds(leader) - leader_cpu) * per_job_ms;
  out.subscribers_cpu_ms_per_job = (bench::cpu_seconds(::getpid()) - own_cpu) * per_job_ms;
  for (auto& a : actors)
    self->send_exit(a, caf::exit_reason::user_shutdown);
  return out;
}

} // namespace

TEST_CASE("the event stream's rate, and what it costs job throughput") {
  const auto jobs = static_cast<size_t>(bench::size_from_env("CLAUD_BENCH_JOBS", 200, 50));
  cluster c;
  c.start_masters({"m1", "m2", "m3"});
  c.start_slave("s1", "2", "8G", {"--cgroups=off"});
  c.start_slave("s2", "2", "8G", {"--cgroups=off"});
  const double raw
      = bench::measure_spawn_rate(std::min<size_t>(jobs, 2000), 40).processes_per_second;

  caf::actor_system_config cfg;
  configure_networked_system(cfg);
  caf::actor_system system{cfg};
  const auto leader_name = c.leader_name();
  const auto leader_address = c.address(leader_name);
  const pid_t leader_pid = c.node(leader_name).pid;
  auto leader = net::parse_host_port(leader_address);
  auto api = system.middleman().remote_actor(leader.host, leader.port);
  REQUIRE(api);
  cluster_options options;
  options.addresses = {leader_address}; // every subscriber at the leader: the worst case
  auto cluster_actor = spawn_cluster(system, options);

  std::map<int, std::vector<round_result>> rounds;
  for (int pass = 0; pass < 2; ++pass)
    for (int subscribers : {0, 1, 100})
      rounds[subscribers].push_back(
          run_round(system, *api, cluster_actor, leader_pid, subscribers, jobs));
  caf::anon_send_exit(cluster_actor, caf::exit_reason::user_shutdown);

  auto mean = [](const std::vector<round_result>& rs, double round_result::*field) {
    double sum = 0;
    for (const auto& r : rs)
      sum += r.*field;
    return sum / static_cast<double>(rs.size());
  };
  const double alone = mean(rounds[0], &round_result::jobs_per_s);
  std::cout << fmt::format("raw spawn+reap of /bin/true, 40 at a time: {:.0f}/s\n", raw);
  std::cout << fmt::format("{:>12} {:>10} {:>10} {:>12} {:>18} {:>18}\n", "subscribers", "jobs/s",
                           "cost", "events/s", "leader CPU ms/job", "client CPU ms/job");
  for (const auto& [subscribers, rs] : rounds) {
    const double rate = mean(rs, &round_result::jobs_per_s);
    const double events = mean(rs, &round_result::events_per_s);
    const double cost = 100.0 * (1.0 - rate / alone);
    const double leader_ms = mean(rs, &round_result::leader_cpu_ms_per_job);
    const double client_ms = mean(rs, &round_result::subscribers_cpu_ms_per_job);
    std::cout << fmt::format("{:>12} {:>10.0f} {:>9.1f}% {:>12.0f} {:>18.3f} {:>18.3f}\n",
                             subscribers, rate, cost, events, leader_ms, client_ms);
    std::cout << fmt::format("{{\"bench\":\"events\",\"jobs\":{},\"subscribers\":{},"
                             "\"jobs_per_s\":{:.0f},\"cost_percent\":{:.1f},"
                             "\"events_per_s\":{:.0f},\"leader_cpu_ms_per_job\":{:.3f},"
                             "\"client_cpu_ms_per_job\":{:.3f},\"raw_spawn_per_s\":{:.0f}}}\n",
                             jobs, subscribers, rate, cost, events, leader_ms, client_ms, raw);
    if (subscribers > 0)
      CHECK(events > 0); // the subscribers heard the jobs
  }
  std::cout << "target: under 10 % slower with 100 subscribers than with none\n";
}
