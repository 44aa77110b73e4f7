#pragma once
// A slave's bookkeeping of its job attempts, without CAF, a clock, a file or a process (the
// job_supervisor actor drives it with real processes, the simulator with fake ones). It decides:
//  - what a start asks for: a new attempt is spawned; a repeated start (after a leader's
//    reconciliation) changes nothing; a start of an attempt that already ended here reports its
//    end again (the leader's log lost it: a record cut on recovery); a start of an attempt an
//    earlier run of this slave started (its journal says so) is refused, never run twice; a newer
//    attempt of a job whose older attempt still runs here supersedes it: the older one is stopped,
//    kept aside until it exits (so its exit is not taken for the newer one's) and never reported;
//  - when a report is due: a started job after the host's started_report_delay (one that ends by
//    then is reported once, started and ended together), an ended one once its output streams
//    have closed or the host's output wait is over;
//  - which reports go in the next batch (each job's latest), which a batch's acknowledgement
//    settles (only the report that was sent: a newer one is still due), and which attempts the
//    leader may not know the end of (the full report of a registration);
//  - what output retention keeps, and which ended attempts are forgotten.
// Process ids are the host's (a pid, or a simulated process's number); times are milliseconds.

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "cluster.pb.h"
#include "wire.pb.h"

namespace claud::slave {

/// One attempt of one job.
struct attempt_key {
  std::string job_id;
  uint32_t attempt = 0;
};

class attempt_book {
public:
  // Starting.
  enum class start_action {
    spawn,        // spawn it (open its streams first), then spawned() or spawn_failed()
    refuse,       // an earlier run of this slave started it: spawn_failed() with why
    report_again, // it ended here already: its end is reported again
    nothing,      // a repeated start
  };
  struct start_plan {
    start_action action = start_action::nothing;
    std::optional<attempt_key> stop_older; // a superseded older attempt to stop
  };
  /// Plans the start of `job`'s attempt; `started_before`: the journal holds it.
  start_plan plan_start(const pb::Job& job, bool started_before);
  /// A stream (stdout or stderr) of the attempt being started opens; returns its token.
  uint64_t open_stream(const attempt_key& attempt);
  void spawned(const attempt_key& attempt, int64_t pid, int64_t now_ms);
  void spawn_failed(const attempt_key& attempt, std::string reason, int64_t now_ms);
  /// The host's started_report_delay is over: a start not yet ended or reported is reported.
  void started_delay_over(const attempt_key& attempt);
  /// The attempt's --timeout is over: true if it still runs here (the host then stops it), and
  /// its end will give `reason`.
  bool timeout_over(const attempt_key& attempt, std::string reason);

  // Ending.
  struct exit_outcome {
    bool known = false;            // a process of this book
    bool superseded = false;       // an older attempt stopped for a newer one
    attempt_key attempt;           // whose process it was
    bool waits_for_output = false; // its report waits for its streams: output_wait_over() later
  };
  exit_outcome exited(int64_t pid, bool exited, int code, int signal, bool over_memory,
                      int64_t now_ms);
  /// A stream's last byte is stored (or it failed); returns whose stream it was.
  std::optional<attempt_key> stream_closed(uint64_t token);
  /// The host's output wait is over: the end is reported even if a stream is still open (a
  /// process the job left running may hold it).
  void output_wait_over(const attempt_key& attempt);

  // Reports.
  bool reports_queued() const {
    return !queued_.empty();
  }
  /// The queued reports, each job's latest, as one batch.
  pb::SlaveReport take_reports();
  /// The leader committed `batch`: each report in it that is still the job's latest is settled.
  /// Returns every attempt of the batch, which the journal may now forget.
  std::vector<attempt_key> acknowledge(const pb::SlaveReport& batch);
  /// Every attempt the leader may not know the end of: the running ones, including superseded
  /// ones still being stopped (the leader, finding no decision that explains them, stops them
  /// too), and those whose end is not acknowledged.
  pb::SlaveReport full_report() const;
  /// Queues every unacknowledged report again (after a registration).
  void resend_unacknowledged();

  // Queries.
  /// The process of the attempt if it runs here (latest or superseded), else 0.
  int64_t pid_of(const attempt_key& attempt) const;
  /// Every process this book runs.
  std::vector<int64_t> pids() const;
  struct attempt_status {
    bool latest = false;  // the job's latest attempt here
    bool ongoing = false; // running, or its output still on its way to the files
  };
  attempt_status status(const attempt_key& attempt) const;
  /// Whether retention must keep the attempt's output: running, writing, or its end not committed.
  bool keeps_output(const attempt_key& attempt) const;
  /// Forgets attempts that ended before `ms`, whose output is stored and whose end is committed.
  void forget_ended_before(int64_t ms);
  size_t size() const {
    return jobs_.size();
  }

private:
  struct record {
    pb::JobReport report;
    int64_t pid = 0;
    bool acknowledged = false;
    int64_t memory_bytes = 0; // its limit, for the reason when it goes over
    std::string stop_reason;  // why this slave stopped it (its --timeout), "" if it did not
    int streams_open = 0;     // its stdout and stderr until every writer closed them
    bool end_waits_for_output = false;
  };

  record* latest(const attempt_key& attempt);
  const record* latest(const attempt_key& attempt) const;
  void end_report_due(const attempt_key& attempt);

  std::map<std::string, record> jobs_;        // by job id: the latest attempt only
  std::map<int64_t, std::string> job_by_pid_; // the running latest attempts
  std::map<int64_t, record> superseded_;      // by pid: older attempts still being stopped
  std::map<uint64_t, attempt_key> streams_;   // by token
  std::set<std::string> queued_;              // jobs whose report goes in the next batch
  uint64_t next_stream_token_ = 1;
};

} // namespace claud::slave
