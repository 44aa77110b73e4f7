// claud-sim: runs the deterministic simulator (random_run.hpp) for one seed, a range of seeds, or
// as many seeds as fit in a time budget. Every seed is printed (SEED=n) before it runs, so even a
// hang names its seed; a failure prints what broke, when, the events before it, and the command
// that reproduces it, and exits 1.
//
//   claud-sim --seed=42 [--masters=5] [--steps=600] [--trace] [--whole]
//   claud-sim --seeds=2000 [--first=1]
//   claud-sim --time-budget-s=600 [--quiet]  (the first seed comes from the clock unless --first)
// --whole runs the whole cluster (world_run.hpp: masters, slaves, clients, job checks) instead of
// the masters alone.

#include <chrono>
#include <cstdint>
#include <iostream>
#include <string>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "random_run.hpp"
#include "world_run.hpp"

namespace {

using claud::sim::run_options;
using claud::sim::run_result;

bool whole_cluster = false;

run_result run(const run_options& o) {
  return whole_cluster ? claud::sim::run_world_seed(o, std::cout)
                       : claud::sim::run_seed(o, std::cout);
}

const char* whole_flag() {
  return whole_cluster ? " --whole" : "";
}

const int default_steps = run_options{}.steps;

void report_failure(const run_options& o, const run_result& r) {
  std::cout << fmt::format("FAIL seed={} masters={} step={}: {}\n", o.seed, o.masters, r.step,
                           r.failure)
            << "parameters: " << r.parameters << '\n'
            << "recent events (oldest first):\n"
            << r.recent
            << fmt::format("reproduce: claud-sim --seed={} --masters={}{}{}\n", o.seed, o.masters,
                           o.steps == default_steps ? "" : fmt::format(" --steps={}", o.steps),
                           whole_flag())
            << std::flush;
}

int run_one(run_options o) {
  std::cout << "SEED=" << o.seed << std::endl;
  o.print_parameters = true;
  auto r = run(o);
  if (!r.ok) {
    report_failure(o, r);
    return 1;
  }
  std::cout << fmt::format("ok: seed={} masters={} steps={} committed={} elections={} "
                           "messages={} jobs_run={} jobs_after={} (ran {}, unmet {}) "
                           "events_streamed={} (subscriptions {}, snapshots {})\n",
                           o.seed, o.masters, o.steps, r.committed, r.elections, r.messages,
                           r.jobs_run, r.jobs_after, r.jobs_after_ran, r.jobs_after_unmet,
                           r.stream_events, r.stream_moves, r.stream_snapshots);
  return 0;
}

struct sweep {
  uint64_t first = 1;
  uint64_t count = 0;  // 0: until the time budget is spent
  double budget_s = 0; // 0: no time budget
  bool quiet = false;
};

int run_sweep(const run_options& base, const sweep& w) {
  const auto start = std::chrono::steady_clock::now();
  auto elapsed_s = [&] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  };
  uint64_t seeds = 0, committed = 0, elections = 0, messages = 0, jobs_run = 0;
  for (uint64_t s = w.first;; ++s) {
    if ((w.count > 0 && seeds == w.count) || (w.budget_s > 0 && elapsed_s() >= w.budget_s))
      break;
    if (!w.quiet)
      std::cout << "SEED=" << s << std::endl;
    else if (seeds == 0)
      std::cout << "SEEDS=" << s << "..." << std::endl;
    auto o = base;
    o.seed = s;
    auto r = run(o);
    if (!r.ok) {
      report_failure(o, r);
      return 1;
    }
    ++seeds;
    committed += r.committed;
    elections += r.elections;
    messages += r.messages;
    jobs_run += r.jobs_run;
  }
  const double seconds = elapsed_s();
  std::cout << fmt::format("passed {} seeds ({}..{}, masters={}, steps={}{}) in {:.1f} s: {:.1f} "
                           "seeds/s; {} committed entries, {} elected leaders, {} messages, {} "
                           "job processes run\n",
                           seeds, w.first, w.first + seeds - 1, base.masters, base.steps,
                           whole_flag(), seconds, seconds > 0 ? seeds / seconds : 0.0, committed,
                           elections, messages, jobs_run);
  return 0;
}

} // namespace

int main(int argc, char** argv) {
  CLI::App app{"claud-sim: the masters (raft, ready loop, state machine) under a simulated network "
               "and clock, with faults drawn from a seed."};
  run_options base;
  sweep w;
  uint64_t seed = 0;
  bool trace = false;
  auto* one = app.add_option("--seed", seed, "run this one seed and print its parameters");
  auto* many = app.add_option("--seeds", w.count, "run this many seeds, from --first on")
                   ->check(CLI::Range(1, 1000000000));
  auto* timed = app.add_option("--time-budget-s", w.budget_s,
                               "run seeds from --first on until this many seconds have passed")
                    ->check(CLI::Range(0.001, 1e7));
  auto* first = app.add_option("--first", w.first, "the first seed of --seeds or --time-budget-s");
  app.add_option("--masters", base.masters, "3 or 5")->check(CLI::IsMember({3, 5}));
  app.add_option("--steps", base.steps, "steps of the fault phase per seed")
      ->check(CLI::Range(1, 100000000));
  app.add_flag("--trace", trace, "print every event of the run as it happens");
  app.add_flag("--whole", whole_cluster,
               "simulate the whole cluster: masters with their schedulers and trackers, slaves "
               "running fake jobs, clients submitting, killing and draining");
  app.add_flag("--quiet", w.quiet,
               "sweeps: print the first seed only, not each one (a failure still names its seed)");
  one->excludes(many)->excludes(timed)->excludes(first);
  many->excludes(timed);
  CLI11_PARSE(app, argc, argv);
  if (trace)
    base.trace = &std::cout;

  if (*one) {
    base.seed = seed;
    return run_one(base);
  }
  if (!*many && !*timed) {
    std::cerr << "claud-sim: give --seed=N, --seeds=K or --time-budget-s=T (see --help)\n";
    return 2;
  }
  if (*timed && !*first) {
    // Exploration: a new range of seeds each time. The clock only picks the seeds; each run is
    // still fully determined by its seed.
    w.first = static_cast<uint64_t>(std::chrono::system_clock::now().time_since_epoch().count())
              % 1000000000000ull;
    std::cout << "first seed drawn from the clock: " << w.first << '\n';
  }
  return run_sweep(base, w);
}
