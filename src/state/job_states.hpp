#pragma once

#include <cstdint>
#include <string>

#include "cluster.pb.h"

namespace claud::state {

/// Where a job id comes in order: job ids are decimal counters, and a task slot's is its job's
/// with ".sK" (PARENT.sK) after it.
struct job_id_order {
  uint64_t number = 0;
  uint32_t slot = 0; // 0: not a slot
};
job_id_order id_order(const std::string& id);

/// Numeric order of job ids, each job's slots after it (then by text, for ids of no such form).
bool job_id_less(const std::string& a, const std::string& b);

/// The id of slot `slot` (from 1) of the job of many tasks `job_id`.
std::string slot_id(const std::string& job_id, uint32_t slot);

/// A job in a terminal state never changes again.
bool is_terminal(pb::JobState state);

/// A job that holds resources on its node (placed or running); a job of many tasks that runs
/// holds none itself (its slots do).
bool holds_resources(pb::JobState state);

/// A job of many tasks: never placed itself, its task slots are (cluster_state_tasks.cpp).
bool is_task_job(const pb::Job& job);

/// A pending job the scheduler may place: it waits for no job and is not a job of many tasks.
bool is_placeable(const pb::Job& job);

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
