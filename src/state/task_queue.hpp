#pragma once
// The tasks of one job of many, as the replicated state keeps them (pb::TaskProgress): which are
// done, which are out on which task slot in which attempt, and which go next. Workers pull: a
// free slot is handed the lowest task to go again, else the next never handed out. Every master
// applies the same hand-outs and ends in the same order, so this is pure and deterministic.
//
// The rules it keeps: a task is out on at most one slot at a time; its attempts are numbered from
// 1 and a (task, attempt) is handed out once; a done task is never handed out again; an attempt
// that failed or whose slot was lost sends the task back, unless it was the task's last try,
// which fails the job (and then nothing more is handed out).

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "cluster.pb.h"

namespace claud::state {

/// The tries of one task when a spec asks for none (--task-attempts 0).
constexpr uint32_t default_task_attempts = 3;

struct task_grant {
  uint32_t index = 0;
  uint32_t attempt = 0; // from 1
};

/// How an attempt ended, as its slot reports it.
struct task_outcome {
  bool succeeded = false;
  bool has_exit_code = false;
  int32_t exit_code = 0;
  int32_t term_signal = 0;
  std::string reason; // why it did not succeed, when not by its exit code alone
};

enum class task_end {
  done,       // the task succeeded
  requeued,   // it goes again, on whichever slot asks next
  failed_job, // it used up its tries: the job fails (failure() says how)
  ignored,    // not an attempt that is out (late, repeated, or of a task already done)
};

class task_queue {
public:
  /// Works on `progress` in place (a job's pb::TaskProgress) for a job of `count` tasks, each
  /// tried at most `max_attempts` times (0: default_task_attempts).
  task_queue(pb::TaskProgress& progress, uint32_t count, uint32_t max_attempts);

  /// The next task for `slot`, or none when every task is done or out, or the job has failed. A
  /// slot runs one task at a time: if it has one out, that one (a pull sent again: exactly once).
  std::optional<task_grant> hand_out(uint64_t slot);

  /// The end of an attempt that `slot` ran. A success of an attempt that was handed out counts
  /// even when it comes late (its slot was taken for lost): a done task never runs again.
  task_end ended(const task_grant& grant, uint64_t slot, const task_outcome& outcome);

  /// A slot gone with its node (or stopped): each task out on it ends as a failed attempt (a lost
  /// worker), goes again or fails the job. Returns the tasks that were out there.
  std::vector<task_grant> slot_lost(uint64_t slot, const std::string& reason);

  uint32_t count() const {
    return count_;
  }
  uint32_t done() const {
    return progress_.done_count();
  }
  uint32_t out() const {
    return static_cast<uint32_t>(progress_.out_size());
  }
  /// Tasks neither done nor out: to hand out still.
  uint32_t waiting() const;
  bool finished() const {
    return done() == count_;
  }
  bool failed() const {
    return progress_.failure().attempt() > 0;
  }
  bool is_done(uint32_t index) const;
  /// The attempt `index` is out in on some slot, or 0.
  uint32_t attempt_out(uint32_t index) const;

private:
  /// An attempt that did not succeed: the task goes again or, at its last try, fails the job.
  task_end attempt_failed(const task_grant& grant, const task_outcome& outcome);
  void mark_done(uint32_t index);

  pb::TaskProgress& progress_;
  const uint32_t count_;
  const uint32_t max_attempts_;
};

/// The percentages of `thresholds` (ascending, 1..100) that `count` tasks pass when the done ones
/// go from `before` to `after`: with 25, 50, 75, 100 and 40 tasks, 9 -> 21 passes 25 and 50.
std::vector<uint32_t> milestones_passed(uint32_t before, uint32_t after, uint32_t count,
                                        const std::vector<uint32_t>& thresholds);

} // namespace claud::state
