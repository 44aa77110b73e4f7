#pragma once
// What happens to a job whose attempt ended: it stays ended, or goes back to pending to run again
// (its restart policy after a failure or a success, a reschedule after its node was lost), after
// an exponential backoff. Pure: the time is the committed entry's.

#include <cstdint>
#include <string>

#include "cluster.pb.h"

namespace claud::state {

/// A backoff base of 0 in a spec means this.
constexpr int64_t default_backoff_base_ms = 1000;
/// The longest backoff is this many times the base.
constexpr int64_t max_backoff_factor = 64;

struct restart_decision {
  bool restart = false;
  int64_t not_before_ms = 0; // when the next attempt may be placed
  std::string reason;        // why it runs again, or why it does not although its policy says so
};

/// Decides for `job`, whose attempt number job.attempts() just ended in `outcome` (succeeded,
/// failed or lost) at `time_ms`. A job a user killed never runs again.
restart_decision decide_restart(const pb::Job& job, pb::JobState outcome, int64_t time_ms);

/// The wait before attempt `attempts + 1`: base * 2^(attempts-1), capped.
int64_t backoff_ms(const pb::JobSpec& spec, uint32_t attempts);

} // namespace claud::state
