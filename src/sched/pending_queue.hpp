#pragma once
// The scheduler's decisions, without CAF, a clock or a thread (the scheduler actor and the
// simulator drive it): which pending jobs a pass places where, which submissions are refused or
// placed on arrival, and when a pass is next worth running.
//
// It holds the pending jobs (kept in step with the committed state by track() and reload()) and a
// node_ledger: the committed node records plus what proposals in flight will take, so a burst does
// not pile onto one node. Every placement it plans holds its resources in the ledger (and, for a
// pass, marks its job as being proposed, so the next pass skips it) until its proposal is answered:
// the caller must call placement_answered / submission_answered exactly once per plan, whatever
// the answer (applied, refused, timed out).
//
// A pass visits the pending jobs oldest first against one placement_index of the ledger's nodes.
// A job that fits nowhere waits and costs no entry; a pass skips jobs no smaller than one that did
// not fit (under the same constraints) and stops once every shape of pending job is known not to
// fit. A restart waits out its backoff (not_before_ms): the pass says when the first one ends.

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "cluster.pb.h"
#include "log.pb.h"
#include "sched/node_ledger.hpp"

namespace claud::sched {

class pending_queue {
public:
  /// How soon a pass follows a refused placement: a refusal that repeats must not become a loop
  /// of entries.
  static constexpr int64_t retry_after_refusal_ms = 100;

  explicit pending_queue(size_t max_placements_per_pass)
      : max_placements_(max_placements_per_pass) {}

  // The committed state.
  /// Replaces the nodes and pending jobs with `view` (reservations stay).
  void reload(const pb::ClusterState& view);
  /// A job's committed record; returns whether it is pending and waits for no job (a pass may
  /// place it).
  bool track(const pb::Job& job);
  /// A node's committed record; returns whether pending jobs deserve another look.
  bool update_node(const pb::Node& node);

  // Passes.
  struct placement {
    uint64_t number = 0;      // where the job comes in the queue (its number, its slot)
    uint64_t reservation = 0; // in the ledger, until placement_answered
    pb::LogEntry entry;       // the JobPlaced to propose
  };
  struct pass_plan {
    std::vector<placement> placements;
    int64_t wake_at_ms = 0; // a backoff ends then: pass again (0: none waits)
    bool more = false;      // the pass stopped at max_placements_per_pass: pass again soon
  };
  pass_plan pass(int64_t now_ms);
  /// Ends the plan's hold. Returns when to pass again: a refused placement changed nothing, so
  /// nothing else would bring its job back (0 when applied).
  int64_t placement_answered(const placement& plan, bool applied, int64_t now_ms);

  // Submissions, placed on arrival as a batch against one index of the nodes. A retry of a
  // submission whose proposal is still in flight (the same idempotency key: a client that timed
  // out while the commit was slow) proposes nothing: it takes the first one's answer. Retries
  // would otherwise add an entry each to a log that is already behind.
  struct submission_plan {
    std::string refusal;      // no node could ever run it: answer this, propose nothing
    std::string follows;      // else, if set: answer what the submission of this key in
                              // flight is answered, propose nothing
    pb::LogEntry entry;       // else the JobSubmitted to propose, its placement in it (or none)
    uint64_t reservation = 0; // held until submission_answered (0 when not placed)
  };
  std::vector<submission_plan> plan_submissions(std::vector<pb::JobSpec> specs);
  /// The proposal of `plan` (one with an entry) was answered.
  void submission_answered(const submission_plan& plan) {
    nodes_.release(plan.reservation);
    keys_in_flight_.erase(plan.entry.job_submitted().spec().idempotency_key());
  }

  size_t pending() const {
    return pending_.size();
  }
  const node_ledger& nodes() const {
    return nodes_;
  }

private:
  struct pending_job {
    std::string id;
    pb::JobSpec spec;
    int64_t not_before_ms = 0; // a restart's backoff ends then
    std::string shape;         // shape_of(spec)
  };
  // The pending jobs of one shape: what they ask for and under which constraints.
  struct shape_count {
    pb::JobSpec spec; // one of them
    size_t jobs = 0;
  };

  bool nothing_else_fits(const std::vector<const pb::JobSpec*>& misfits) const;

  size_t max_placements_;
  node_ledger nodes_;
  std::map<uint64_t, pending_job> pending_; // by queue number: the oldest first
  // The shapes of the pending jobs: once each is known not to fit, a pass stops early instead of
  // visiting thousands of waiting jobs of the few shapes a batch has.
  std::map<std::string, shape_count> shapes_;
  size_t restarting_ = 0; // pending jobs with a backoff, whose ends a pass looks for
  // Pending jobs whose placement is proposed and not answered yet: a pass skips them. Passes do
  // not wait for each other's commits (the ledger holds what their proposals take), so room a
  // finished job frees is used within one commit.
  std::set<uint64_t> proposing_;
  std::set<std::string> keys_in_flight_; // of submissions proposed and not answered yet
};

} // namespace claud::sched
