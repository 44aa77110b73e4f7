#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "cluster.pb.h"
#include "log.pb.h"
#include "state/frozen_records.hpp"
#include "state/restart_policy.hpp"

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
  // Of changed_jobs, those whose state did not change (a job of many tasks whose tasks moved on,
  // a slot handed its next task): no event of their own.
  std::vector<std::string> quiet_jobs;
  // Jobs of many tasks whose done tasks passed a progress threshold (percent) in this entry.
  std::vector<std::pair<std::string, uint32_t>> task_milestones;
};

/// The task slots made for a job of many tasks: its --parallel, at most its tasks and
/// max_task_slots (a constant, so that every master makes the same).
constexpr uint32_t max_task_slots = 256;
uint32_t task_slots_for(const pb::JobSpec& spec);

/// A state at one index, as snapshot bytes in parts: the serialization of the nodes, live keys and
/// counters, then each live job's bytes and the frozen records' chunks, shared with the state they
/// came from. Taking one costs the nodes' serialization and that of the live jobs that changed
/// since the last one; bytes(), the concatenation, can be made on any thread.
struct state_snapshot {
  std::string live;
  std::vector<shared_bytes> parts;
  /// The serialized pb::ClusterState (the snapshot format).
  std::string bytes() const;
};

/// The replicated state machine: the jobs table and the nodes table. `apply` is the only way the
/// state changes, and it is deterministic: the same entries in the same order give the same state
/// on every master. An entry that no longer makes sense (the leader proposed it on a view that has
/// since changed, or a slave reported an old attempt) is a no-op with a reason, never a crash.
///
/// Live jobs (pending, placed, running) are parsed records; a job that ended never changes again
/// and is kept frozen (frozen_records.hpp) with its idempotency key, until its retention ends.
class cluster_state {
public:
  /// How many steps of its life a job keeps (`claud status` shows them).
  static constexpr size_t max_history_events = 20;

  cluster_state() = default;
  /// The state a snapshot holds (the format is pb::ClusterState, whole).
  explicit cluster_state(pb::ClusterState snapshot);

  apply_result apply(const pb::LogEntry& entry);

  /// A job, live or ended.
  std::optional<pb::Job> find_job(const std::string& id) const;
  /// A job that has not ended (null for an ended or unknown one), without a copy.
  const pb::Job* find_live_job(const std::string& id) const;
  const pb::Node* find_node(const std::string& id) const;
  const google::protobuf::Map<std::string, pb::Node>& nodes() const {
    return live_.nodes();
  }
  /// The jobs that have not ended: pending, placed or running.
  const google::protobuf::Map<std::string, pb::Job>& live_jobs() const {
    return live_jobs_;
  }
  /// Every job, live ones first, then ended ones in the order they ended.
  void for_each_job(const std::function<void(const pb::Job&)>& visit) const;
  size_t job_count() const {
    return live_jobs_.size() + ended_.size();
  }
  /// What an idempotency key made, while the state remembers it.
  std::optional<pb::SubmissionKey> submission(const std::string& key) const;
  uint64_t next_job_number() const {
    return live_.next_job_number();
  }
  uint64_t applied_index() const {
    return live_.applied_index();
  }

  /// Every node and the pending jobs: what the scheduler starts from.
  pb::ClusterState pending_view() const;

  state_snapshot snapshot() const;
  /// The whole state as one message: for tests and comparisons, it parses every ended job.
  pb::ClusterState whole() const;

private:
  apply_result apply_op(const pb::LogEntry& entry);
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
  apply_result report_tasks(const pb::TaskReports& op, int64_t time_ms);
  /// Makes the task slots of the job of many tasks `parent` (cluster_state_tasks.cpp), pending.
  void open_slots(pb::Job& parent, int64_t time_ms, apply_result& result);
  /// A slot's attempt ended in `outcome`: the tasks out on it go again (or fail the job), and the
  /// decision says whether the slot goes again too.
  restart_decision slot_attempt_ended(const pb::Job& slot, pb::JobState outcome, int64_t time_ms,
                                      apply_result& result);
  /// Fails the job of many tasks when none of its slots is left to run what remains.
  void close_task_job_if_unserved(pb::Job& parent, int64_t time_ms, apply_result& result);
  /// Ends the job of many tasks in `state`, and its slots: pending ones at once, the others by a
  /// kill.
  void end_task_job(pb::Job& parent, pb::JobState state, const std::string& reason, int64_t time_ms,
                    apply_result& result);
  /// The first dependency of `spec` the state does not hold, as a refusal; empty if none.
  std::string unknown_dependency(const pb::JobSpec& spec) const;
  /// Makes the new pending `job` wait for its dependencies that have not ended; one that ended
  /// otherwise than asked ends it failed at once.
  void wait_for_dependencies(pb::Job& job, int64_t time_ms);
  /// Tells the jobs waiting for each job in result.changed_jobs that has ended: one fewer to wait
  /// for, or (it ended otherwise than asked) they end failed, which their own waiting jobs are
  /// told in turn. Each job told is added to result.changed_jobs.
  void settle_dependents(apply_result& result, int64_t time_ms);
  /// A job that ended while it still waited for jobs waits no more.
  void stop_waiting(pb::Job& job);
  /// Ends the pending `job` failed with `reason`, without an attempt.
  void fail_unstarted(pb::Job& job, const std::string& reason, int64_t time_ms);
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
  pb::Job* live_job(const std::string& id);
  /// Makes the snapshot bytes of the live job `id` again (drops them if it is no longer live).
  void keep_bytes_of(const std::string& id);
  /// Freezes the live job `id` if it has ended, with its idempotency key.
  void freeze_if_ended(const std::string& id);
  /// Freezes an ended job (taken out of the live jobs) and the key that made it.
  void freeze(pb::Job job);
  /// A frozen record's bytes as the message they are a fragment of (a logic_error if they are
  /// not one: they were made by this class).
  static pb::ClusterState parse_record(std::string_view bytes);
  /// Keeps `key` retired since `retired_at_ms`: a late retry of its submission is refused.
  void retire_key(const std::string& key, const std::string& job_id, int64_t retired_at_ms);

  pb::ClusterState live_; // nodes, live jobs' keys, counters (its jobs map stays empty)
  google::protobuf::Map<std::string, pb::Job> live_jobs_;
  // Each live job's bytes as a snapshot holds them, made again whenever apply changes the job:
  // about a microsecond per change, where making them all at the snapshot stalled the raft loop
  // 10 ms with 10,000 live jobs. A snapshot then only shares them.
  std::unordered_map<std::string, shared_bytes> live_job_bytes_;
  frozen_records ended_; // ended jobs by id (and by the key that made them), stamped with when
                         // they ended
  frozen_records retired_keys_; // keys whose job has left the state, stamped with when it did
  // By job: the pending jobs waiting for it (their waits_for names it), oldest first. Derived
  // from the live jobs (a snapshot does not hold it), and ordered, so every master tells them in
  // the same order.
  std::map<std::string, std::vector<std::string>> dependents_;
};

} // namespace claud::state
