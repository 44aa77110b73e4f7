#pragma once

#include <string>

#include "cluster.pb.h"

namespace claud::state {

/// Numeric order of job ids, which are decimal counters: by length, then text.
bool job_id_less(const std::string& a, const std::string& b);

/// A job in a terminal state never changes again.
bool is_terminal(pb::JobState state);

/// A job that holds resources on its node (placed or running).
bool holds_resources(pb::JobState state);

/// Lower-case names used in the CLI and in `--json`: pending, placed, running, ...
std::string job_state_name(pb::JobState state);
std::string node_state_name(pb::NodeState state);
std::string node_role_name(pb::NodeRole role);

/// Whether a node of this role runs jobs.
bool runs_jobs(pb::NodeRole role);

/// Whether `incoming` is the node `known` under the same id: the same incarnation (its data dir,
/// restarted or reconnecting), or an incarnation of an older claud (0) on either side.
bool same_incarnation(const pb::Node& known, const pb::Node& incoming);

/// The one line that refuses a registration claiming the id of `known`, alive as another
/// incarnation.
std::string identity_conflict(const pb::Node& known);

} // namespace claud::state
