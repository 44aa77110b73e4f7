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
};

run_result run_seed(const run_options& options, std::ostream& out);

} // namespace claud::sim
