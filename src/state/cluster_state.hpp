#pragma once

#include <string>
#include <vector>

#include "cluster.pb.h"
#include "log.pb.h"

namespace claud::state {

/// What applying one entry did: whether it changed anything, the job it created or touched, and the
/// ids of every job and node whose record changed (so actors can react to exactly those).
struct apply_result {
  bool applied = false;
  std::string error;  // why the entry was a no-op (stale placement, unknown job, ...)
  std::string job_id; // the job the entry is about (a submission's new id, or the id its
                      // idempotency key made before)
  std::vector<std::string> changed_jobs;
  std::vector<std::string> changed_nodes;
};

/// The replicated state machine: the jobs table and the nodes table. `apply` is the only way the
/// state changes, and it is deterministic: the same entries in the same order give the same state
/// on every master. An entry that no longer makes sense (the leader proposed it on a view that has
/// since changed, or a slave reported an old attempt) is a no-op with a reason, never a crash.
class cluster_state {
public:
  /// How many steps of its life a job keeps (`claud status` shows them).
  static constexpr size_t max_history_events = 20;

  cluster_state() = default;
  explicit cluster_state(pb::ClusterState snapshot);

  apply_result apply(const pb::LogEntry& entry);

  const pb::ClusterState& data() const {
    return data_;
  }
  const pb::Job* find_job(const std::string& id) const;
  const pb::Node* find_node(const std::string& id) const;
  uint64_t applied_index() const {
    return data_.applied_index();
  }

private:
  apply_result submit(const pb::JobSubmitted& op, int64_t time_ms);
  apply_result place(const pb::JobPlaced& op, int64_t time_ms);
  apply_result unplaceable(const pb::JobUnplaceable& op);
  apply_result start(const pb::JobStarted& op, int64_t time_ms);
  apply_result finish(const pb::JobFinished& op, int64_t time_ms);
  apply_result request_kill(const pb::JobKillRequested& op, int64_t time_ms);
  apply_result lose_job(const pb::JobLost& op, int64_t time_ms);
  apply_result register_node(const pb::NodeRegistered& op, int64_t time_ms);
  apply_result lose_node(const pb::NodeLost& op, int64_t time_ms);
  apply_result drain_node(const pb::NodeDrain& op, int64_t time_ms);
  apply_result expire_jobs(const pb::JobsExpired& op, int64_t time_ms);
  /// Ends every attempt placed or running on `node_id` as lost, with `reason`.
  void lose_jobs_on(const std::string& node_id, const std::string& reason, int64_t time_ms,
                    apply_result& result);

  /// Ends the current attempt of `job` in `state`, releasing what it held on its node; the job
  /// then goes back to pending if its restart policy says so (restart_policy.hpp).
  void end_attempt(pb::Job& job, pb::JobState state, int64_t time_ms, apply_result& result);
  /// Appends the job's current state to its history, keeping the last max_history_events.
  static void record_event(pb::Job& job, int64_t time_ms);
  /// The job's current attempt on `node_id`, if `attempt` names it; else an error result.
  pb::Job* current_attempt(const std::string& job_id, const std::string& node_id, uint32_t attempt,
                           apply_result& result);

  pb::ClusterState data_;
};

} // namespace claud::state
