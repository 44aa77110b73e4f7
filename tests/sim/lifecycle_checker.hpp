#pragma once
// The whole-cluster simulation's invariants about jobs (the raft invariants are checker.hpp's).
// A broken one throws invariant_violation with one line saying what broke.
//
// As the run goes (every spawn, every step):
//  - no attempt of a job is spawned twice, anywhere (a slave's journal and the placements see to
//    it), and a job that must not run again once lost (`never`, fail on node lost) is spawned at
//    most once;
//  - a submission the client was told was refused never runs;
//  - one attempt of a job is current (the committed state's attempt, on its node); an attempt
//    the leader gave up (lost with a slave that was cut off or frozen) may still run while its
//    slave is unreachable, but once the slave is back with a leader it is stopped within the time
//    a registration takes; processes a crashed slave left behind (orphans) are counted, not
//    checked (see the README's limits);
//  - no node runs more than its capacity in the committed state;
//  - no slave is given up (a NodeLost proposed) unless a fault touched it (a crash, a freeze, a
//    cut) within the time the leader needs to notice one: leader changes, master crashes, slow
//    commits and partitions between masters must never cost a slave its jobs;
//  - no slave with its own identity is refused registration;
//  - a job placed or running that waits for jobs (--after) waits for none any more, and each
//    ended as it asked.
// At the end, once every fault is healed and the cluster has settled (world::settled):
//  - every acknowledged submission is a job of the committed state, under its key, and there is
//    exactly one job per key;
//  - every job has ended, and one that waited for jobs ran only if each ended as it asked, and
//    failed without running if one did not.

#include <cstdint>
#include <map>
#include <set>
#include <string>

#include "checker.hpp"
#include "cluster.pb.h"
#include "master_host.hpp"

namespace claud::sim {

class world;

class lifecycle_checker {
public:
  explicit lifecycle_checker(const lifecycle_timing& timing);

  void on_spawn(const std::string& slave, const pb::Job& job);
  void on_refused_registration(const std::string& slave, const std::string& reason);
  /// Master `proposer`, leading, proposes `entry`.
  void on_proposed(const world& w, const std::string& proposer, const pb::LogEntry& entry);
  /// A fault touched `slave` at step `now`.
  void on_fault(const std::string& slave, uint64_t now);
  void check_step(const world& w);
  void check_end(const world& w) const;

  uint64_t spawns() const {
    return spawned_.size();
  }
  uint64_t orphan_overlaps() const {
    return orphan_overlaps_;
  }
  uint64_t slaves_lost() const {
    return slaves_lost_;
  }

private:
  void check_attempts(const world& w, const state::cluster_state& state);
  /// That `job`, placed or ended, honoured its dependencies in `state`.
  static void check_dependencies(const state::cluster_state& state, const pb::Job& job);

  uint64_t notice_window_steps_;
  std::set<std::pair<std::string, uint32_t>> spawned_; // (job, attempt)
  std::map<std::string, int> spawns_of_once_jobs_;     // `never` + fail on node lost
  std::set<std::string> spawned_keys_;                 // idempotency keys of what ran
  std::map<std::string, uint64_t> last_fault_;         // slave -> step
  // Given-up attempts still running on a reachable slave, (slave, pid) -> first seen.
  std::map<std::pair<std::string, int64_t>, uint64_t> stale_since_;
  uint64_t orphan_overlaps_ = 0; // steps a job ran twice because of a crashed slave's orphan
  uint64_t slaves_lost_ = 0;
};

} // namespace claud::sim
