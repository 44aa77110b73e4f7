// The control plane at scale: one real master and, in this process, thousands of simulated slaves
// (actors that speak the slave protocol: they register, ping every second as a slave_link does,
// and report every job they are given as ended at once). It prints, for each number of slaves,
// how long they took to register, the leader's CPU (share of one core) and resident memory per
// slave while they only ping, placements per second through submit, place, start, report and
// commit, and the leader's growth per ended job kept in the state, beside the machine's raw spawn
// rate. Growth should be linear or better, and 5,000
// slaves should cost at most one core.
//
//   CLAUD_BENCH_SLAVES=1000,5000 CLAUD_BENCH_JOBS=5000 build/bench/control_plane_bench
//   (make bench; `make test`: 50 and 200 slaves, 200 jobs, a short idle phase)

#include <atomic>
#include <iostream>
#include <memory>
#include <sstream>
#include <thread>

#include <caf/all.hpp>
#include <caf/io/all.hpp>
#include <catch2/catch.hpp>
#include <fmt/format.h>

#include "baseline.hpp"
#include "claud/protocol.hpp"
#include "cluster.hpp"
#include "net/address.hpp"
#include "process_usage.hpp"
#include "stats.hpp"
#include "workload.hpp"

namespace {

using namespace claud;
using namespace std::chrono_literals;

struct counters {
  std::atomic<int> registered{0};
  std::atomic<int> refused{0};
  std::atomic<int> jobs_reported{0};
};

/// One simulated slave: what a slave_link and a job_supervisor say to the leader, nothing more.
caf::behavior fake_slave(caf::event_based_actor* self, std::string id, caf::actor master,
                         std::shared_ptr<counters> count) {
  pb::SlaveReport registration;
  auto* node = registration.mutable_node();
  node->set_id(id);
  node->set_role(pb::ROLE_SLAVE);
  node->set_address("127.0.0.1:1");
  node->set_incarnation(std::hash<std::string>{}(id) | 1);
  node->set_cpu_millis_total(4000);
  node->set_memory_bytes_total(int64_t{8} << 30);
  self->request(master, 60s, register_atom::value, registration, caf::actor_cast<caf::actor>(self))
      .then(
          [=] {
            ++count->registered;
            self->send(self, ping_atom::value);
          },
          [=](caf::error&) { ++count->refused; });
  return {
      [=](ping_atom) {
        self->request(master, 10s, ping_atom::value, id).then([] {}, [](caf::error&) {});
        self->delayed_send(self, 1s, ping_atom::value);
      },
      [=](start_atom, const pb::StartJob& batch) {
        pb::SlaveReport ended; // each job ran and ended at once
        auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
        for (const auto& job : batch.jobs()) {
          auto* r = ended.add_jobs();
          r->set_job_id(job.id());
          r->set_attempt(job.attempts());
          r->set_has_exit_code(true);
          r->set_started_at_ms(now);
          r->set_finished_at_ms(now);
        }
        auto jobs = batch.jobs_size();
        self->request(master, 30s, report_atom::value, id, ended)
            .then([=] { count->jobs_reported += jobs; }, [](caf::error&) {});
      },
      [=](kill_atom, const std::string&, uint32_t) {},
  };
}

/// Submits `jobs` trivial jobs, at most `in_flight` unanswered at once; counts the answers.
caf::behavior submitter(caf::event_based_actor* self, caf::actor master, int jobs,
                        std::shared_ptr<std::atomic<int>> answered) {
  auto next = std::make_shared<int>(0);
  auto submit_one = std::make_shared<std::function<void()>>();
  *submit_one = [=] {
    if (*next == jobs)
      return;
    ++*next;
    pb::JobSpec spec;
    spec.add_argv("true");
    spec.set_cpu_millis(100);
    spec.set_memory_bytes(1 << 20);
    self->request(master, 60s, submit_atom::value, spec)
        .then(
            [=](const pb::Job&) {
              ++*answered;
              (*submit_one)();
            },
            [=](caf::error&) {
              ++*answered;
              (*submit_one)();
            });
  };
  for (int i = 0; i < 256; ++i)
    (*submit_one)();
  return {[](ping_atom) {}}; // it lives until told to exit
}

caf::actor connect(caf::actor_system& system, const std::string& address) {
  auto where = net::parse_host_port(address);
  caf::scoped_actor self{system};
  caf::actor api;
  self->request(system.middleman().actor_handle(), 10s, caf::connect_atom_v, where.host, where.port)
      .receive([&](const caf::node_id&, caf::strong_actor_ptr& handle,
                   const std::set<std::string>&) { api = caf::actor_cast<caf::actor>(handle); },
               [&](caf::error& err) { FAIL("cannot reach the master: " << error_message(err)); });
  REQUIRE(api);
  return api;
}

/// Waits until `done()` or `timeout`; returns the seconds it took.
template<class Done>
double wait_for(Done done, std::chrono::seconds timeout) {
  auto start = std::chrono::steady_clock::now();
  while (!done()) {
    REQUIRE(std::chrono::steady_clock::now() - start < timeout);
    std::this_thread::sleep_for(10ms);
  }
  return bench::elapsed_ms(start) / 1000.0;
}

std::vector<int> sizes_from_env(const char* name, std::vector<int> smoke) {
  const char* text = std::getenv(name);
  if (!text || !*text)
    return smoke;
  std::vector<int> sizes;
  std::stringstream list{text};
  for (std::string item; std::getline(list, item, ',');)
    sizes.push_back(std::max(1, std::stoi(item)));
  return sizes;
}

struct figures {
  int slaves = 0;
  double register_s = 0;
  double idle_core_share = 0;
  double rss_per_slave_kib = 0;
  double placements_per_second = 0;
  double rss_per_job_kib = 0; // the leader's growth per ended job kept in the state
};

figures measure(int slaves, int jobs, std::chrono::seconds idle) {
  test::cluster c;
  auto& master = c.start_master("m1", {"--slave-timeout-ms", "5000"});
  const auto rss_before = bench::rss_bytes(master.pid);
  caf::actor_system_config cfg;
  configure_networked_system(cfg);
  caf::actor_system system{cfg};
  auto api = connect(system, master.address);
  auto count = std::make_shared<counters>();
  figures out;
  out.slaves = slaves;
  std::vector<caf::actor> actors;
  for (int i = 0; i < slaves; ++i)
    actors.push_back(system.spawn(fake_slave, fmt::format("fake-{}", i), api, count));
  out.register_s = wait_for([&] { return count->registered + count->refused == slaves; }, 300s);
  REQUIRE(count->refused == 0);
  // Idle: the slaves only ping.
  std::this_thread::sleep_for(2s); // the registrations' entries settle
  const double cpu_before = bench::cpu_seconds(master.pid);
  auto idle_start = std::chrono::steady_clock::now();
  std::this_thread::sleep_for(idle);
  out.idle_core_share
      = (bench::cpu_seconds(master.pid) - cpu_before) / (bench::elapsed_ms(idle_start) / 1000.0);
  out.rss_per_slave_kib
      = static_cast<double>(bench::rss_bytes(master.pid) - rss_before) / 1024.0 / slaves;
  // Placements: every job submitted, placed on some slave, started, reported and committed.
  auto answered = std::make_shared<std::atomic<int>>(0);
  const auto rss_before_jobs = bench::rss_bytes(master.pid);
  auto start = std::chrono::steady_clock::now();
  actors.push_back(system.spawn(submitter, api, jobs, answered));
  wait_for([&] { return count->jobs_reported >= jobs; }, 600s);
  out.placements_per_second = jobs / (bench::elapsed_ms(start) / 1000.0);
  out.rss_per_job_kib
      = static_cast<double>(bench::rss_bytes(master.pid) - rss_before_jobs) / 1024.0 / jobs;
  for (const auto& a : actors) // the actor system ends once they have
    caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
  return out;
}

} // namespace

TEST_CASE("control plane: leader cost per simulated slave, and placements per second") {
  const auto sizes = sizes_from_env("CLAUD_BENCH_SLAVES", {50, 200});
  const int jobs = bench::size_from_env("CLAUD_BENCH_JOBS", 200, 1);
  const auto idle = std::chrono::seconds{bench::size_from_env("CLAUD_BENCH_IDLE_S", 2, 1)};
  auto baseline = bench::measure_spawn_rate(500, 2);
  std::cout << fmt::format("baseline: {:.0f} spawns of /bin/true per second (2 at a time)\n",
                           baseline.processes_per_second);
  std::cout << fmt::format("{:>7} {:>12} {:>16} {:>15} {:>14} {:>15}\n", "slaves", "register s",
                           "idle leader CPU", "RSS per slave", "placements/s", "RSS per job");
  std::vector<figures> all;
  for (int slaves : sizes) {
    auto f = measure(slaves, jobs, idle);
    std::cout << fmt::format("{:>7} {:>12.2f} {:>15.1f}% {:>11.1f} KiB {:>14.0f} {:>11.2f} KiB\n",
                             f.slaves, f.register_s, 100 * f.idle_core_share, f.rss_per_slave_kib,
                             f.placements_per_second, f.rss_per_job_kib);
    all.push_back(f);
  }
  std::cout << "{\"bench\":\"control_plane\",\"baseline_spawns_per_s\":"
            << fmt::format("{:.0f}", baseline.processes_per_second) << ",\"jobs\":" << jobs
            << ",\"sizes\":[";
  for (size_t i = 0; i < all.size(); ++i)
    std::cout << (i ? "," : "")
              << fmt::format("{{\"slaves\":{},\"register_s\":{:.2f},\"idle_leader_core_share\":"
                             "{:.3f},\"rss_per_slave_kib\":{:.1f},\"placements_per_s\":{:.0f},"
                             "\"rss_per_job_kib\":{:.2f}}}",
                             all[i].slaves, all[i].register_s, all[i].idle_core_share,
                             all[i].rss_per_slave_kib, all[i].placements_per_second,
                             all[i].rss_per_job_kib);
  std::cout << "]}\n";
  CHECK(all.size() == sizes.size());
}
