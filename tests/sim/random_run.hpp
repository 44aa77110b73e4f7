#pragma once
// One seeded run of the simulator, in the manner of TigerBeetle's VOPR: the seed draws the run's
// parameters (fault rates, delays, clock speeds, snapshot interval, client load), then
//  1. a fault phase of `steps` steps: loss, delay, duplication, reordering, symmetric and one-way
//     partitions, crashes (between writes, torn mid-write, after a sync) and restarts after short
//     or long outages (long enough to fall behind a compacted log), clients proposing jobs and
//     asking reads of whoever leads;
//  2. a liveness phase: every master restarted, the network healed and lossless; a leader must be
//     elected and a new proposal commit within 20 election timeouts;
//  3. convergence: every master applies every committed entry, and all state machines equal the
//     state the committed entries produce.
// The checker's invariants run after every step of all three.

#include <cstdint>
#include <functional>
#include <ostream>
#include <string>

namespace claud::sim {

struct run_options {
  uint64_t seed = 1;
  int masters = 3;
  int steps = 600; // of the fault phase
  bool print_parameters = false;
  std::ostream* trace = nullptr; // when set, every event is printed as it happens
};

struct run_result {
  bool ok = true;
  std::string parameters; // what the seed drew
  std::string failure;    // what broke
  uint64_t step = 0;      // when
  std::string recent;     // the events that led to it
  uint64_t committed = 0;
  uint64_t elections = 0; // terms that had a leader
  uint64_t messages = 0;
  uint64_t jobs_run = 0; // job processes spawned (whole-cluster runs)
  // Of the jobs that waited for others (--after): how many ran, how many failed because one
  // ended otherwise than asked (whole-cluster runs that settled).
  uint64_t jobs_after = 0, jobs_after_ran = 0, jobs_after_unmet = 0;
  // What the event subscriber got (whole-cluster runs): events streamed, masters it subscribed
  // at, snapshots it took instead of events it missed.
  uint64_t stream_events = 0, stream_moves = 0, stream_snapshots = 0;
};

run_result run_seed(const run_options& options, std::ostream& out);

struct run_parameters;
class cluster;
/// Phases 2 and 3 for the masters: every fault healed, then a new proposal must commit and every
/// master apply every committed entry, each within a bound; throws invariant_violation if not.
/// `step` advances the run by one step (by default the masters' own step).
void heal_and_require_progress(cluster& t, const run_parameters& p,
                               std::function<void()> step = {});

} // namespace claud::sim
