#pragma once
// The fault phase of a random run: what the seed decides about a run (run_parameters, drawn before
// it starts and printed with --seed), and the driver that, before every step, draws from them
// which faults start or end and what the clients ask.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "cluster.hpp"
#include "prng.hpp"

namespace claud::sim {

/// Everything the seed decides about a run, drawn before it starts (and printed with --seed).
struct run_parameters {
  int election_ticks = 10;
  int heartbeat_ticks = 1;
  uint64_t snapshot_every = 20;
  size_t max_entries_per_message = 256;
  network_options network;
  double partition_probability = 0; // per step: cut some links
  double heal_probability = 0;      // per step, while cut: heal them all
  double crash_probability = 0;     // per step
  int max_down = 1;                 // masters down (or about to crash) at once
  double long_outage_probability = 0;
  double bounce_probability = 0;
  double election_crash_probability = 0; // of a new candidacy: a voter bounces during it
  double torn_probability = 0;           // of a crash: torn at the next sync
  double after_sync_probability = 0;     // of a crash: after the next sync, before sending
  double hint_probability = 0;           // of a follower, when its leader crashes: told at once
  double spurious_hint_probability = 0;  // per step: a connection closes, its leader is fine
  double propose_probability = 0;        // per step
  double read_probability = 0;           // per step
  double membership_probability = 0;     // per step: the leader is asked to add or remove one
  int initial_voters = 3;                // the masters the cluster starts with; the rest wait
  std::vector<double> tick_probability;  // per master
};

run_parameters draw_parameters(prng& rng, int masters);
/// One line, key=value.
std::string describe(const run_parameters& p);

/// The fault phase's choices, one step at a time.
class fault_driver {
public:
  fault_driver(cluster& t, const run_parameters& p, uint64_t seed) : t_(t), p_(p), rng_(seed) {}

  /// Heals or cuts links, crashes and restarts masters, and has clients propose and read.
  void before_step();

private:
  std::string any_master();
  std::string leader_or_any();
  void partition();
  /// The masters that may crash now; empty when max_down are already down or about to be.
  std::vector<std::string> crashable();
  void crash();
  /// A voter that crashes and is back within the same election must remember its vote; random
  /// crashes rarely land in that window, so a new candidacy sometimes triggers one there.
  void election_crash();
  void restarts();
  void clients();
  /// Adds a master from outside (now and then on an empty disk: a new machine at its address)
  /// or removes one, the leader itself included.
  void change_membership();

  cluster& t_;
  const run_parameters& p_;
  prng rng_;
  std::map<std::string, uint64_t> restart_at_;
  std::map<std::string, uint64_t> crash_at_; // election crashes, due at
  uint64_t candidate_term_ = 0;              // the last term seen with a candidate
};

} // namespace claud::sim
