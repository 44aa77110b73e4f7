#pragma once
// The event stream's pure parts: what a committed entry tells (events_of), what a subscriber's
// filter passes, and the snapshot that stands in for events a subscriber cannot be given.

#include <string>
#include <unordered_set>
#include <vector>

#include "events.pb.h"
#include "log.pb.h"
#include "state/cluster_state.hpp"

namespace claud::state {

/// The events of `entry`, just applied to `after` with `result`, in a stable order: the entry's
/// node or leader event first, then one or two per job it changed.
std::vector<pb::Event> events_of(const pb::LogEntry& entry, const apply_result& result,
                                 const cluster_state& after);

/// Whether an event of `kind` is about a node (joined, lost, drained, or its snapshot state).
bool is_node_event(pb::EventKind kind);

/// The bounds a subscription's filter is checked against.
struct filter_limits {
  size_t max_job_ids = 10000;
  size_t max_name_prefix_bytes = 256;
};

/// Why `filter` cannot be served (one line for the user), or "".
std::string filter_error(const pb::EventFilter& filter, const filter_limits& limits);

/// A filter ready to match: its job ids in a hash set.
class event_filter {
public:
  explicit event_filter(const pb::EventFilter& filter);
  bool passes(const pb::Event& event) const;
  /// Whether job events pass whatever the job (its name and id do not matter).
  bool passes_all_jobs() const {
    return all_ || filter_.jobs();
  }
  const pb::EventFilter& spec() const {
    return filter_;
  }

private:
  pb::EventFilter filter_;
  std::unordered_set<std::string> job_ids_;
  bool all_ = false; // the filter sets nothing: everything passes
};

/// What `filter` selects in `state`, as snapshot events (EVENT_JOB_STATE, EVENT_NODE_STATE, and
/// EVENT_JOB_NOT_FOUND for a named job the state does not hold), indexed at the state's applied
/// index. Jobs selected by `jobs` or a name prefix are the live ones (ended jobs stay in `claud
/// jobs`); named jobs are given whether they ended or not.
std::vector<pb::Event> snapshot_events(const cluster_state& state, const event_filter& filter);

/// The kind's lower-case name, as `claud events` prints it: job-submitted, node-lost, ...
std::string event_kind_name(pb::EventKind kind);

} // namespace claud::state
