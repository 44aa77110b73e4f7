// The state machine's transitions: one handler per kind of log entry (cluster_state.cpp keeps
// the tables, the frozen records and the snapshot form).
#include "state/cluster_state.hpp"

#include <algorithm>
#include <stdexcept>

#include <fmt/format.h>

#include "state/job_states.hpp"
#include "state/restart_policy.hpp"

namespace claud::state {

namespace {

apply_result rejected(std::string error) {
  apply_result result;
  result.error = std::move(error);
  return result;
}

apply_result touched(const std::string& job_id) {
  apply_result result;
  result.applied = true;
  result.job_id = job_id;
  result.changed_jobs.push_back(job_id);
  return result;
}

} // namespace

apply_result cluster_state::apply_op(const pb::LogEntry& entry) {
  live_.set_applied_index(entry.index());
  const int64_t now = entry.time_ms();
  switch (entry.op_case()) {
  case pb::LogEntry::kJobSubmitted:
    return submit(entry.job_submitted(), now);
  case pb::LogEntry::kJobPlaced:
    return place(entry.job_placed(), now);
  case pb::LogEntry::kJobUnplaceable:
    return unplaceable(entry.job_unplaceable());
  case pb::LogEntry::kJobStarted:
    return start(entry.job_started(), now);
  case pb::LogEntry::kJobFinished:
    return finish(entry.job_finished(), now);
  case pb::LogEntry::kJobKillRequested:
    return request_kill(entry.job_kill_requested(), now);
  case pb::LogEntry::kJobLost:
    return lose_job(entry.job_lost(), now);
  case pb::LogEntry::kNodeRegistered:
    return register_node(entry.node_registered(), now);
  case pb::LogEntry::kNodeLost:
    return lose_node(entry.node_lost(), now);
  case pb::LogEntry::kNodeDrain:
    return drain_node(entry.node_drain(), now);
  case pb::LogEntry::kJobsExpired:
    return expire_jobs(entry.jobs_expired(), now);
  case pb::LogEntry::kTaskReports:
    return report_tasks(entry.task_reports(), now);
  case pb::LogEntry::kMembershipChange: {
    apply_result result; // raft applies it to itself; the jobs and nodes do not change
    result.applied = true;
    return result;
  }
  case pb::LogEntry::OP_NOT_SET:
    break;
  }
  return rejected("empty log entry");
}

apply_result cluster_state::submit(const pb::JobSubmitted& op, int64_t time_ms) {
  const auto& key = op.spec().idempotency_key();
  if (auto known = submission(key)) {
    if (known->retired_at_ms() != 0)
      return rejected(fmt::format("this submission (idempotency key {}) was accepted as job {}, "
                                  "which has ended and left the state",
                                  key, known->job_id()));
    apply_result result; // applied, changing nothing: the answer is the job the key made
    result.applied = true;
    result.job_id = known->job_id();
    return result;
  }
  if (auto unknown = unknown_dependency(op.spec()); !unknown.empty())
    return rejected(std::move(unknown));
  auto id = std::to_string(live_.next_job_number() + 1);
  if (!key.empty())
    (*live_.mutable_submission_keys())[key].set_job_id(id);
  live_.set_next_job_number(live_.next_job_number() + 1);
  pb::Job& job = live_jobs_[id];
  job.set_id(id);
  *job.mutable_spec() = op.spec();
  job.set_state(pb::JOB_PENDING);
  job.set_submitted_at_ms(time_ms);
  record_event(job, time_ms);
  wait_for_dependencies(job, time_ms);
  if (is_task_job(job)) {
    job.mutable_tasks(); // present from the start, so a read of its queue changes no record
    auto result = touched(id);
    if (job.state() == pb::JOB_PENDING && job.waits_for_size() == 0)
      open_slots(job, time_ms, result);
    return result;
  }
  if (op.node_id().empty() || job.state() != pb::JOB_PENDING || job.waits_for_size() > 0)
    return touched(id);
  pb::JobPlaced placed;
  placed.set_job_id(id);
  placed.set_node_id(op.node_id());
  auto result = place(placed, time_ms);
  if (!result.applied)
    return touched(id); // the node was taken or lost meanwhile: pending, for the next pass
  return result;
}

apply_result cluster_state::place(const pb::JobPlaced& op, int64_t time_ms) {
  pb::Job* pending = live_job(op.job_id());
  if (pending == nullptr || pending->state() != pb::JOB_PENDING)
    return rejected(fmt::format("job {} is not pending", op.job_id()));
  if (pending->waits_for_size() > 0)
    return rejected(fmt::format("job {} waits for job {}", op.job_id(), pending->waits_for(0)));
  if (is_task_job(*pending))
    return rejected(
        fmt::format("job {} is a job of many tasks: its task slots are placed", op.job_id()));
  auto nodes = live_.mutable_nodes();
  auto node_it = nodes->find(op.node_id());
  if (node_it == nodes->end() || node_it->second.state() != pb::NODE_ALIVE)
    return rejected(fmt::format("node {} is not alive", op.node_id()));
  if (!runs_jobs(node_it->second.role()))
    return rejected(fmt::format("node {} does not run jobs", op.node_id()));
  if (node_it->second.draining())
    return rejected(fmt::format("node {} is drained", op.node_id()));
  pb::Job& job = *pending;
  pb::Node& node = node_it->second;
  const auto& spec = job.spec();
  if (node.cpu_millis_used() + spec.cpu_millis() > node.cpu_millis_total()
      || node.memory_bytes_used() + spec.memory_bytes() > node.memory_bytes_total())
    return rejected(fmt::format("job {} no longer fits on node {}", job.id(), node.id()));
  node.set_cpu_millis_used(node.cpu_millis_used() + spec.cpu_millis());
  node.set_memory_bytes_used(node.memory_bytes_used() + spec.memory_bytes());
  job.set_state(pb::JOB_PLACED);
  job.set_node_id(node.id());
  job.set_attempts(job.attempts() + 1);
  job.clear_reason();
  job.clear_has_exit_code();
  job.clear_exit_code();
  job.clear_term_signal();
  job.clear_started_at_ms();
  job.clear_finished_at_ms();
  job.clear_not_before_ms();
  record_event(job, time_ms);
  auto result = touched(job.id());
  result.changed_nodes.push_back(node.id());
  return result;
}

apply_result cluster_state::unplaceable(const pb::JobUnplaceable& op) {
  pb::Job* job = live_job(op.job_id());
  if (job == nullptr || job->state() != pb::JOB_PENDING)
    return rejected(fmt::format("job {} is not pending", op.job_id()));
  job->set_reason(op.reason());
  return touched(op.job_id());
}

pb::Job* cluster_state::current_attempt(const std::string& job_id, const std::string& node_id,
                                        uint32_t attempt, apply_result& result) {
  pb::Job* job = live_job(job_id);
  if (job == nullptr && ended_.find(job_id) == std::nullopt) {
    result.error = fmt::format("no job {}", job_id);
    return nullptr;
  }
  if (job == nullptr || !holds_resources(job->state()) || job->node_id() != node_id
      || job->attempts() != attempt || is_task_job(*job)) {
    result.error = fmt::format("job {} attempt {} on {} is not its current attempt", job_id,
                               attempt, node_id);
    return nullptr;
  }
  return job;
}

apply_result cluster_state::start(const pb::JobStarted& op, int64_t time_ms) {
  apply_result result;
  pb::Job* job = current_attempt(op.job_id(), op.node_id(), op.attempt(), result);
  if (job == nullptr)
    return result;
  if (job->state() == pb::JOB_RUNNING)
    return rejected(fmt::format("job {} is already running", op.job_id()));
  job->set_state(pb::JOB_RUNNING);
  job->set_started_at_ms(time_ms);
  record_event(*job, time_ms);
  return touched(job->id());
}

apply_result cluster_state::finish(const pb::JobFinished& op, int64_t time_ms) {
  apply_result result;
  pb::Job* job = current_attempt(op.job_id(), op.node_id(), op.attempt(), result);
  if (job == nullptr)
    return result;
  if (job->state() == pb::JOB_PLACED && op.started()) {
    // Started and ended in one report: the history still shows it running, for as long as it ran.
    const int64_t placed_at
        = job->history(job->history_size() - 1).time_ms(); // place() recorded it
    const int64_t started_at = std::max(time_ms - op.ran_for_ms(), placed_at);
    job->set_state(pb::JOB_RUNNING);
    job->set_started_at_ms(started_at);
    record_event(*job, started_at);
  }
  job->set_has_exit_code(op.has_exit_code());
  job->set_exit_code(op.exit_code());
  job->set_term_signal(op.term_signal());
  pb::JobState outcome = pb::JOB_FAILED;
  if (job->kill_requested())
    outcome = pb::JOB_KILLED;
  else if (op.reason().empty() && op.has_exit_code() && op.exit_code() == 0)
    outcome = pb::JOB_SUCCEEDED;
  if (!op.reason().empty())
    job->set_reason(op.reason());
  else if (job->kill_requested())
    job->set_reason(!job->slot_of().empty() && live_job(job->slot_of()) == nullptr
                        ? "stopped: its job of many tasks had ended"
                        : "killed by a user");
  result = touched(job->id());
  end_attempt(*job, outcome, time_ms, result);
  return result;
}

apply_result cluster_state::request_kill(const pb::JobKillRequested& op, int64_t time_ms) {
  pb::Job* live = live_job(op.job_id());
  if (live == nullptr) {
    auto ended = find_job(op.job_id());
    if (!ended)
      return rejected(fmt::format("no job {}", op.job_id()));
    if (ended->kill_requested()) // asked again (a client's retry after a failover): no change
      return touched(ended->id());
    return rejected(
        fmt::format("job {} has already ended ({})", ended->id(), job_state_name(ended->state())));
  }
  pb::Job& job = *live;
  if (job.kill_requested()) // asked again while it is being killed: nothing changes
    return touched(job.id());
  auto result = touched(job.id());
  job.set_kill_requested(true);
  if (is_task_job(job)) { // it runs nothing itself: it ends now, its slots are stopped
    stop_waiting(job);
    end_task_job(job, pb::JOB_KILLED, "killed by a user", time_ms, result);
    return result;
  }
  if (job.state() == pb::JOB_PENDING) {
    job.set_state(pb::JOB_KILLED);
    job.set_reason("cancelled by a user before it started");
    job.set_finished_at_ms(time_ms);
    record_event(job, time_ms);
    if (pb::Job* parent = job.slot_of().empty() ? nullptr : live_job(job.slot_of()))
      close_task_job_if_unserved(*parent, time_ms, result); // it may have been the last slot
  }
  return result;
}

apply_result cluster_state::lose_job(const pb::JobLost& op, int64_t time_ms) {
  pb::Job* job = live_job(op.job_id());
  if (job == nullptr || !holds_resources(job->state()) || is_task_job(*job))
    return rejected(fmt::format("job {} is not placed or running", op.job_id()));
  auto result = touched(op.job_id());
  job->set_reason(op.reason());
  end_attempt(*job, pb::JOB_LOST, time_ms, result);
  return result;
}

void cluster_state::end_attempt(pb::Job& job, pb::JobState state, int64_t time_ms,
                                apply_result& result) {
  auto nodes = live_.mutable_nodes();
  auto node_it = nodes->find(job.node_id());
  if (node_it != nodes->end()) {
    pb::Node& node = node_it->second;
    node.set_cpu_millis_used(node.cpu_millis_used() - job.spec().cpu_millis());
    node.set_memory_bytes_used(node.memory_bytes_used() - job.spec().memory_bytes());
    auto& changed = result.changed_nodes;
    if (std::find(changed.begin(), changed.end(), node.id()) == changed.end())
      changed.push_back(node.id());
  }
  job.set_state(state);
  job.set_finished_at_ms(time_ms);
  record_event(job, time_ms);
  auto& quiet = result.quiet_jobs; // its end is told, whatever touched it quietly before
  quiet.erase(std::remove(quiet.begin(), quiet.end(), job.id()), quiet.end());
  auto decision = job.slot_of().empty() ? decide_restart(job, state, time_ms)
                                        : slot_attempt_ended(job, state, time_ms, result);
  if (decision.restart) {
    job.set_state(pb::JOB_PENDING);
    job.set_not_before_ms(decision.not_before_ms);
    job.clear_node_id();
    job.set_reason(decision.reason);
    record_event(job, time_ms);
  } else if (!decision.reason.empty()) {
    job.set_reason(job.reason().empty() ? decision.reason : job.reason() + "; " + decision.reason);
  }
}

void cluster_state::record_event(pb::Job& job, int64_t time_ms) {
  auto& history = *job.mutable_history();
  if (history.size() >= static_cast<int>(max_history_events))
    history.DeleteSubrange(0, history.size() - static_cast<int>(max_history_events) + 1);
  auto* event = history.Add();
  event->set_time_ms(time_ms);
  event->set_attempt(job.attempts());
  event->set_state(job.state());
  event->set_node_id(job.node_id());
  if (is_terminal(job.state())) {
    event->set_has_exit_code(job.has_exit_code());
    event->set_exit_code(job.exit_code());
    event->set_term_signal(job.term_signal());
  }
  event->set_reason(job.reason());
}

apply_result cluster_state::register_node(const pb::NodeRegistered& op, int64_t time_ms) {
  const auto& incoming = op.node();
  // A node id is one node's: while it is alive, only the same incarnation (the same data dir,
  // restarted or reconnecting) may register under it.
  if (auto known = live_.nodes().find(incoming.id()); known != live_.nodes().end()
                                                      && known->second.state() == pb::NODE_ALIVE
                                                      && !same_incarnation(known->second, incoming))
    return rejected(identity_conflict(known->second));
  pb::Node& node = (*live_.mutable_nodes())[incoming.id()];
  // What the node uses is the state's own bookkeeping, not the node's claim.
  const int64_t cpu_used = node.cpu_millis_used();
  const int64_t memory_used = node.memory_bytes_used();
  const bool draining = node.draining(); // a user's decision outlives the node's restarts
  const uint64_t incarnation = node.incarnation();
  node = incoming;
  if (node.incarnation() == 0) // a node of an older claud does not say: the guard stays
    node.set_incarnation(incarnation);
  node.set_cpu_millis_used(cpu_used);
  node.set_memory_bytes_used(memory_used);
  node.set_draining(draining);
  node.set_state(pb::NODE_ALIVE);
  node.set_registered_at_ms(time_ms);
  node.clear_reason();
  apply_result result;
  result.applied = true;
  result.changed_nodes.push_back(node.id());
  return result;
}

apply_result cluster_state::lose_node(const pb::NodeLost& op, int64_t time_ms) {
  auto nodes = live_.mutable_nodes();
  auto it = nodes->find(op.node_id());
  if (it == nodes->end() || it->second.state() != pb::NODE_ALIVE)
    return rejected(fmt::format("node {} is not alive", op.node_id()));
  it->second.set_state(pb::NODE_DOWN);
  it->second.set_reason(op.reason());
  apply_result result;
  result.applied = true;
  result.changed_nodes.push_back(op.node_id());
  // Its jobs are lost in the same entry, so no master ever sees a dead node holding running jobs.
  lose_jobs_on(op.node_id(), fmt::format("node {} was lost: {}", op.node_id(), op.reason()),
               time_ms, result);
  return result;
}

void cluster_state::lose_jobs_on(const std::string& node_id, const std::string& reason,
                                 int64_t time_ms, apply_result& result) {
  // In id order, not the map's (it differs between masters): a slot's end can end its job of many
  // tasks and the slots after it, so the order decides what happens.
  std::vector<std::string> ids;
  for (const auto& [id, job] : live_jobs_)
    if (holds_resources(job.state()) && job.node_id() == node_id)
      ids.push_back(id);
  std::sort(ids.begin(), ids.end(), job_id_less);
  for (const auto& id : ids) {
    pb::Job& job = live_jobs_.at(id);
    auto& changed = result.changed_jobs;
    if (std::find(changed.begin(), changed.end(), id) == changed.end())
      changed.push_back(id);
    if (!holds_resources(job.state())) // ended already, with its job of many tasks
      continue;
    job.set_reason(reason);
    end_attempt(job, pb::JOB_LOST, time_ms, result);
  }
  // Callers see changes in a stable order.
  std::sort(result.changed_jobs.begin(), result.changed_jobs.end());
}

apply_result cluster_state::expire_jobs(const pb::JobsExpired& op, int64_t time_ms) {
  apply_result result;
  result.applied = true;
  // A key outlives its job by one retention, so a late retry is refused rather than run again.
  retired_keys_.remove_older(op.finished_before_ms(), [](const auto&, std::string_view) {});
  ended_.remove_older(op.finished_before_ms(), [&](std::string_view id, std::string_view bytes) {
    const auto record = parse_record(bytes);
    for (const auto& [key, made] : record.submission_keys())
      retire_key(key, std::string{id}, time_ms);
  });
  return result;
}

apply_result cluster_state::drain_node(const pb::NodeDrain& op, int64_t time_ms) {
  auto nodes = live_.mutable_nodes();
  auto it = nodes->find(op.node_id());
  if (it == nodes->end() || !runs_jobs(it->second.role()))
    return rejected(fmt::format("no node {} that runs jobs", op.node_id()));
  it->second.set_draining(op.draining());
  apply_result result;
  result.applied = true;
  result.changed_nodes.push_back(op.node_id());
  if (op.draining() && op.migrate())
    lose_jobs_on(op.node_id(), fmt::format("moved off node {}, which is drained", op.node_id()),
                 time_ms, result);
  return result;
}

} // namespace claud::state
