#pragma once
// The simulator's invariants, checked as the run goes (every output of every master, and after
// every step). A broken invariant throws invariant_violation with one line saying what broke; the
// runner adds the step, the recent events and how to reproduce.
//
// Safety (raft paper §5.2–5.4, §7 for snapshots, §8 for reads):
//  - at most one leader per term (election safety);
//  - a new leader holds every committed entry (leader completeness);
//  - committed entries never change: the first master to apply index i fixes (term, bytes) of i,
//    and every master applies exactly those, without gaps or repeats, in index order (state
//    machine safety); a master restarted or given a snapshot resumes right after it;
//  - committed entries never disappear: the newest committed entry is durably held (in the log or
//    a snapshot) by a majority of the voters, counting crashed masters by what their disk would
//    recover (the voters before or after the latest membership change: a leader applies a change
//    after it commits, so either may have committed the entry);
//  - a master's state machine is exactly at its applied index, its applied index never passes its
//    commit, and its job count is the record's count of submissions up to that index (this also
//    checks snapshots: a wrong one shows up at once);
//  - no job is committed twice, but for a client's retry under the same idempotency key, which
//    must make no second job (the job count above); a confirmed read's index covers every write
//    committed before the read was asked.

#include <cstdint>
#include <map>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "raft/membership.hpp"
#include "raft/raft_log.hpp"
#include "replica/replica.hpp"
#include "state/cluster_state.hpp"

namespace claud::sim {

struct invariant_violation : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// One master as the per-step check sees it.
struct node_view {
  std::string id;
  const replica::replica* live = nullptr;  // null while crashed
  const raft::raft_log* durable = nullptr; // while crashed: what its disk would recover
};

/// The deterministic serialization of a protobuf message (maps in key order), for comparing states.
std::string canonical_bytes(const google::protobuf::Message& message);

class checker {
public:
  /// `voters`: the masters the cluster started with.
  explicit checker(const std::vector<std::string>& voters);

  /// A replica was (re)started; called before its first process().
  void on_start(const std::string& node, const replica::replica& r);
  /// What one process() returned (already applied to `r`).
  void on_output(const std::string& node, const replica::output& out, const replica::replica& r);
  void on_read_issued(uint64_t context);
  void on_read(const std::string& node, const raft::read_state& read);
  /// The checks across masters, after every step.
  void check_step(const std::vector<node_view>& nodes);

  /// The highest index any master applied: every entry up to it is committed.
  uint64_t commit_index() const {
    return entries_.size();
  }
  const pb::LogEntry& committed(uint64_t index) const {
    return entries_.at(index - 1);
  }
  /// The index at which the job named `job` was committed, 0 if it was not.
  uint64_t committed_job(const std::string& job) const;
  /// The state machine after applying the committed entries 1..index.
  state::cluster_state reference_state(uint64_t index) const;
  const std::map<uint64_t, std::string>& leaders() const {
    return leaders_;
  }
  /// The membership the committed entries made.
  const raft::membership& membership() const {
    return membership_;
  }

private:
  void record(const std::string& node, const pb::LogEntry& entry);
  void check_state(const std::string& node, const replica::replica& r) const;
  bool holds_newest_committed(const raft::raft_log& log) const;
  bool held_by_a_majority(const std::set<std::string>& holders,
                          const std::set<std::string>& everyone) const;

  raft::membership membership_;
  raft::membership before_last_change_; // the voters that may have committed the newest entry
  std::vector<std::pair<uint64_t, raft::membership>> memberships_; // from the index that made it
  std::vector<pb::LogEntry> entries_;          // committed entries, index i at [i - 1]
  std::vector<std::string> bytes_;             // their serialized form
  std::vector<uint64_t> submissions_;          // [i]: jobs submitted by entries 1..i
  std::map<std::string, uint64_t> jobs_;       // job name -> committed index
  std::map<std::string, uint64_t> next_apply_; // per master: the index it must apply next
  std::map<uint64_t, std::string> leaders_;    // term -> the one leader seen in it
  std::map<uint64_t, uint64_t> reads_;         // read context -> commit index when it was asked
};

} // namespace claud::sim
