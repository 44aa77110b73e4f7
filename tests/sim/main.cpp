// claud-sim: runs the deterministic simulator (random_run.hpp) for one seed, a range of seeds, or
// as many seeds as fit in a time budget. Every seed is printed (SEED=n) before it runs, so even a
// hang names its seed; a failure prints what broke, when, the events before it, and the command
// that reproduces it, and exits 1.
//
//   claud-sim --seed=42 [--masters=5] [--steps=600] [--trace]
//   claud-sim --seeds=2000 [--first=1]
//   claud-sim --time-budget-s=600        (the first seed comes from the clock unless --first)

#include <chrono>
#include <cstdint>
#include <iostream>
#include <string>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "random_run.hpp"

namespace {

using claud::sim::run_options;
using claud::sim::run_result;

struct totals {
  uint64_t seeds = 0;
  uint64_t committed = 0;
  uint64_t elections = 0;
  uint64_t messages = 0;
};

void report_failure(const run_options& o, const run_result& r, int default_steps) {
  std::cout << fmt::format("FAIL seed={} masters={} step={}: {}\n", o.seed, o.masters, r.step,
                           r.failure)
            << "parameters: " << r.parameters << '\n'
            << "recent events (oldest first):\n"
            << r.recent
            << fmt::format("reproduce: claud-sim --seed={} --masters={}{}\n", o.seed, o.masters,
                           o.steps == default_steps ? "" : fmt::format(" --steps={}", o.steps))
            << std::flush;
}

} // namespace

int main(int argc, char** argv) {
  CLI::App app{"claud-sim: the masters (raft, ready loop, state machine) under a simulated network "
               "and clock, with faults drawn from a seed."};
  const int default_steps = run_options{}.steps;
  uint64_t seed = 0, seeds = 0, first = 1;
  double budget_s = 0;
  run_options base;
  bool trace = false;
  auto* one = app.add_option("--seed", seed, "run this one seed and print its parameters");
  auto* many = app.add_option("--seeds", seeds, "run this many seeds, from --first on");
  auto* timed = app.add_option("--time-budget-s", budget_s,
                               "run seeds from --first on until this many seconds have passed");
  auto* first_opt = app.add_option("--first", first, "the first seed of --seeds or --time-budget-s");
  app.add_option("--masters", base.masters, "3 or 5")->check(CLI::IsMember({3, 5}));
  app.add_option("--steps", base.steps, "steps of the fault phase per seed")
      ->check(CLI::Range(1, 100000000));
  app.add_flag("--trace", trace, "print every event of the run as it happens");
  one->excludes(many)->excludes(timed)->excludes(first_opt);
  many->excludes(timed);
  CLI11_PARSE(app, argc, argv);
  if (!*one && !*many && !*timed) {
    std::cerr << "claud-sim: give --seed=N, --seeds=K or --time-budget-s=T (see --help)\n";
    return 2;
  }
  if (trace)
    base.trace = &std::cout;

  if (*one) {
    std::cout << "SEED=" << seed << std::endl;
    auto o = base;
    o.seed = seed;
    o.print_parameters = true;
    auto r = claud::sim::run_seed(o, std::cout);
    if (!r.ok) {
      report_failure(o, r, default_steps);
      return 1;
    }
    std::cout << fmt::format("ok: seed={} masters={} steps={} committed={} elections={} "
                             "messages={}\n",
                             seed, o.masters, o.steps, r.committed, r.elections, r.messages);
    return 0;
  }

  if (*timed && !*first_opt) {
    // Exploration: a new range of seeds each time. The clock only picks the seeds; each run is
    // still fully determined by its seed.
    first = static_cast<uint64_t>(
                std::chrono::system_clock::now().time_since_epoch().count()) % 1000000000000ull;
    std::cout << "first seed drawn from the clock: " << first << '\n';
  }
  const auto start = std::chrono::steady_clock::now();
  auto elapsed_s = [&] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  };
  totals sum;
  for (uint64_t s = first;; ++s) {
    if (*many && sum.seeds == seeds)
      break;
    if (*timed && elapsed_s() >= budget_s)
      break;
    std::cout << "SEED=" << s << std::endl;
    auto o = base;
    o.seed = s;
    auto r = claud::sim::run_seed(o, std::cout);
    if (!r.ok) {
      report_failure(o, r, default_steps);
      return 1;
    }
    ++sum.seeds;
    sum.committed += r.committed;
    sum.elections += r.elections;
    sum.messages += r.messages;
  }
  const double seconds = elapsed_s();
  std::cout << fmt::format("passed {} seeds ({}..{}, masters={}, steps={}) in {:.1f} s: {:.1f} "
                           "seeds/s; {} committed entries, {} elected leaders, {} messages\n",
                           sum.seeds, first, first + sum.seeds - 1, base.masters, base.steps,
                           seconds, seconds > 0 ? sum.seeds / seconds : 0.0, sum.committed,
                           sum.elections, sum.messages);
  return 0;
}
