// The state machine's side of jobs of many tasks (state/task_queue.hpp holds the queue's rules).
//
// A job of many tasks is never placed itself. Once it waits for no job, the state makes its task
// slots: jobs PARENT.s1 .. PARENT.sN, pending, that the scheduler places like any job (so they
// hold resources, move off lost nodes and are killed like any job). A slot's process on its slave
// pulls the job's tasks one at a time; its pulls and the tasks' ends come in TaskReports entries,
// many to an entry. The job runs from its first hand-out and ends when every task is done, when a
// task has used up its tries, when a user kills it, or when no slot is left to run what remains.
#include <algorithm>
#include <map>

#include <fmt/format.h>

#include "state/cluster_state.hpp"
#include "state/job_states.hpp"
#include "state/task_queue.hpp"

namespace claud::state {

namespace {

/// The slot's number in the queue: its K and the attempt its process runs, so that a report from
/// an earlier attempt of the slot (taken for lost) is told from the current one's.
uint64_t slot_key(uint32_t slot, uint32_t slot_attempt) {
  return uint64_t{slot} << 32 | slot_attempt;
}

task_queue queue_of(pb::Job& parent) {
  return task_queue{*parent.mutable_tasks(), parent.spec().task_count(),
                    parent.spec().task_attempts()};
}

/// How the task that used up its tries ended, and where its output is: the job's reason.
std::string failure_text(const pb::Job& parent) {
  const auto& failure = parent.tasks().failure();
  std::string how = failure.reason();
  if (how.empty() && failure.has_exit_code())
    how = fmt::format("exit code {}", failure.exit_code());
  else if (how.empty())
    how = fmt::format("signal {}", failure.term_signal());
  const auto tries
      = parent.spec().task_attempts() == 0 ? default_task_attempts : parent.spec().task_attempts();
  return fmt::format("task {} failed on its last try ({} of {}): {}; its output: claud logs {} "
                     "--task {}",
                     failure.index(), failure.attempt(), tries, how, parent.id(), failure.index());
}

void add_once(std::vector<std::string>& ids, const std::string& id) {
  if (std::find(ids.begin(), ids.end(), id) == ids.end())
    ids.push_back(id);
}

void add_changed(apply_result& result, const std::string& id) {
  add_once(result.changed_jobs, id);
}

/// Changed, without a change of state: no event of its own.
void add_quietly(apply_result& result, const std::string& id) {
  add_once(result.changed_jobs, id);
  add_once(result.quiet_jobs, id);
}

/// Its state changed after all: its event is told.
void unquiet(apply_result& result, const std::string& id) {
  auto& quiet = result.quiet_jobs;
  quiet.erase(std::remove(quiet.begin(), quiet.end(), id), quiet.end());
}

/// The progress thresholds of a job: every step percent, and 100.
std::vector<uint32_t> progress_thresholds(const pb::JobSpec& spec) {
  const uint32_t step = spec.task_progress_step() == 0 ? 25 : spec.task_progress_step();
  std::vector<uint32_t> thresholds;
  for (uint32_t p = step; p < 100; p += step)
    thresholds.push_back(p);
  thresholds.push_back(100);
  return thresholds;
}

} // namespace

uint32_t task_slots_for(const pb::JobSpec& spec) {
  const uint32_t wanted = spec.task_parallel() > 0 ? spec.task_parallel() : max_task_slots;
  return std::min({wanted, spec.task_count(), max_task_slots});
}

void cluster_state::open_slots(pb::Job& parent, int64_t time_ms, apply_result& result) {
  const uint32_t count = task_slots_for(parent.spec());
  parent.set_slot_count(count);
  parent.set_reason(fmt::format("waiting for its {} task slots to be placed", count));
  pb::JobSpec spec = parent.spec(); // a slot runs the job's command, on the same terms
  spec.clear_task_count();
  spec.clear_task_args();
  spec.clear_task_parallel();
  spec.clear_task_attempts();
  spec.clear_idempotency_key();
  spec.clear_after();
  spec.set_restart(pb::RESTART_NEVER); // its tasks have their own tries
  spec.set_max_attempts(0);            // a slot lost with its node goes again, as often
  spec.set_fail_on_node_lost(false);
  for (uint32_t k = 1; k <= count; ++k) {
    const auto id = slot_id(parent.id(), k);
    pb::Job& slot = live_jobs_[id];
    slot.set_id(id);
    *slot.mutable_spec() = spec;
    slot.set_state(pb::JOB_PENDING);
    slot.set_submitted_at_ms(time_ms);
    slot.set_slot_of(parent.id());
    slot.set_slot(k);
    record_event(slot, time_ms);
    add_changed(result, id);
  }
}

apply_result cluster_state::report_tasks(const pb::TaskReports& op, int64_t time_ms) {
  apply_result result;
  result.applied = true;
  // The states of the jobs this entry may change, and the tasks done of theirs, as they were
  // before it: what changed state is told as events, what passed a threshold as progress.
  std::map<std::string, pb::JobState> state_before;
  std::map<std::string, uint32_t> done_before;
  auto note = [&](const pb::Job& parent) {
    if (!done_before.emplace(parent.id(), parent.tasks().done_count()).second)
      return;
    state_before.emplace(parent.id(), parent.state());
    for (uint32_t k = 1; k <= parent.slot_count(); ++k)
      if (const auto* slot = find_live_job(slot_id(parent.id(), k)))
        state_before.emplace(slot->id(), slot->state());
  };
  for (const auto& report : op.reports()) {
    const auto order = id_order(report.slot_job_id());
    pb::Job* parent = live_job(std::to_string(order.number));
    if (order.slot == 0 || parent == nullptr || !is_task_job(*parent)
        || is_terminal(parent->state()))
      continue; // of a job that has ended (or none): nothing is left to tell
    note(*parent);
    auto queue = queue_of(*parent);
    const auto key = slot_key(order.slot, report.slot_attempt());
    if (report.has_ended()) {
      task_outcome outcome;
      outcome.succeeded = report.succeeded();
      outcome.has_exit_code = report.has_exit_code();
      outcome.exit_code = report.exit_code();
      outcome.term_signal = report.term_signal();
      outcome.reason = report.reason();
      if (queue.ended({report.index(), report.attempt()}, key, outcome) != task_end::ignored)
        add_changed(result, parent->id());
    }
    if (queue.failed()) {
      end_task_job(*parent, pb::JOB_FAILED, failure_text(*parent), time_ms, result);
      continue;
    }
    if (queue.finished()) {
      end_task_job(*parent, pb::JOB_SUCCEEDED, "", time_ms, result);
      continue;
    }
    if (!report.pull())
      continue;
    apply_result ignored;
    pb::Job* slot
        = current_attempt(report.slot_job_id(), report.node_id(), report.slot_attempt(), ignored);
    if (slot == nullptr || slot->kill_requested())
      continue; // a slot's old process, or one being stopped: it is handed nothing
    add_changed(result, slot->id());
    if (slot->state() == pb::JOB_PLACED) { // its first pull may come before its start report
      slot->set_state(pb::JOB_RUNNING);
      slot->set_started_at_ms(time_ms);
      record_event(*slot, time_ms);
    }
    if (!queue.hand_out(key)) {
      slot->set_has_exit_code(true);
      slot->set_exit_code(0);
      slot->set_reason("no task left to hand out");
      end_attempt(*slot, pb::JOB_SUCCEEDED, time_ms, result);
      continue;
    }
    add_changed(result, parent->id());
    if (parent->state() == pb::JOB_PENDING) {
      parent->set_state(pb::JOB_RUNNING);
      parent->set_started_at_ms(time_ms);
      parent->clear_reason();
      record_event(*parent, time_ms);
    }
  }
  for (const auto& id : result.changed_jobs) {
    const auto* job = find_live_job(id);
    auto before = state_before.find(id);
    if (job != nullptr && before != state_before.end() && before->second == job->state())
      add_once(result.quiet_jobs, id);
  }
  if (result.changed_jobs.empty()) {
    result.applied = false;
    result.error = "no report of this entry names a task slot that runs (or ran) a task";
  }
  for (const auto& [id, before] : done_before) {
    const auto* parent = find_live_job(id);
    for (auto percent :
         milestones_passed(before, parent->tasks().done_count(), parent->spec().task_count(),
                           progress_thresholds(parent->spec())))
      result.task_milestones.emplace_back(id, percent);
  }
  return result;
}

restart_decision cluster_state::slot_attempt_ended(const pb::Job& slot, pb::JobState outcome,
                                                   int64_t time_ms, apply_result& result) {
  restart_decision decision;
  pb::Job* parent = live_job(slot.slot_of());
  if (parent == nullptr || is_terminal(parent->state()))
    return decision; // the job has ended: so does the slot
  auto queue = queue_of(*parent);
  const auto reason = slot.reason().empty() ? fmt::format("its slot {} ended", slot.id())
                                            : fmt::format("slot {}: {}", slot.id(), slot.reason());
  const bool ran_a_task = !queue.slot_lost(slot_key(slot.slot(), slot.attempts()), reason).empty();
  if (ran_a_task)
    add_quietly(result, parent->id()); // its tasks go again: no change of its state
  if (queue.failed()) {
    end_task_job(*parent, pb::JOB_FAILED, failure_text(*parent), time_ms, result);
    return decision;
  }
  // Lost with its node, or its process ended while it ran a task (whose try that counted): the
  // slot goes again at once. One whose process failed before it took a task would fail again.
  const bool goes_again = !slot.kill_requested() && outcome != pb::JOB_SUCCEEDED
                          && (outcome == pb::JOB_LOST || ran_a_task)
                          && (queue.waiting() > 0 || queue.out() > 0);
  if (goes_again) {
    decision.restart = true;
    decision.not_before_ms = time_ms;
    decision.reason = fmt::format("{}; it goes again for the job's tasks", reason);
    return decision;
  }
  close_task_job_if_unserved(*parent, time_ms, result);
  return decision;
}

void cluster_state::close_task_job_if_unserved(pb::Job& parent, int64_t time_ms,
                                               apply_result& result) {
  if (is_terminal(parent.state()))
    return;
  for (uint32_t k = 1; k <= parent.slot_count(); ++k)
    if (const auto* slot = live_job(slot_id(parent.id(), k));
        slot != nullptr && !is_terminal(slot->state()))
      return;
  end_task_job(parent, pb::JOB_FAILED,
               fmt::format("every task slot ended with {} of {} tasks done",
                           parent.tasks().done_count(), parent.spec().task_count()),
               time_ms, result);
}

void cluster_state::end_task_job(pb::Job& parent, pb::JobState state, const std::string& reason,
                                 int64_t time_ms, apply_result& result) {
  if (is_terminal(parent.state()))
    return;
  parent.set_state(state);
  parent.set_finished_at_ms(time_ms);
  if (state == pb::JOB_SUCCEEDED) {
    parent.set_has_exit_code(true);
    parent.set_exit_code(0);
  } else if (state == pb::JOB_FAILED && parent.tasks().failure().attempt() > 0) {
    const auto& failure = parent.tasks().failure();
    parent.set_has_exit_code(failure.has_exit_code());
    parent.set_exit_code(failure.exit_code());
    parent.set_term_signal(failure.term_signal());
  }
  parent.set_reason(reason);
  record_event(parent, time_ms);
  add_changed(result, parent.id());
  unquiet(result, parent.id());
  // Its slots end with it: pending ones at once, placed or running ones by a kill (their slaves
  // stop the task they run; any task end they report after counts for nothing).
  for (uint32_t k = 1; k <= parent.slot_count(); ++k) {
    pb::Job* slot = live_job(slot_id(parent.id(), k));
    if (slot == nullptr || is_terminal(slot->state()))
      continue; // ended already (in this very entry, maybe: its end is told)
    if (slot->state() != pb::JOB_PENDING) {
      add_quietly(result, slot->id()); // its end is told when its slave has stopped it
      slot->set_kill_requested(true);
      continue;
    }
    add_changed(result, slot->id());
    slot->set_state(state == pb::JOB_SUCCEEDED ? pb::JOB_SUCCEEDED : pb::JOB_KILLED);
    slot->set_reason(fmt::format("its job ended {}", job_state_name(state)));
    slot->set_finished_at_ms(time_ms);
    record_event(*slot, time_ms);
  }
}

} // namespace claud::state
