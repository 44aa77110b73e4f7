#pragma once
// Answers to the read requests, built from a master's state machine. Shared by the linearizable
// and the local read paths of leader_election. A pending job's reason (what it needs, what is
// free) is worked out when it is read, against the nodes as they are then.

#include <string>

#include <caf/expected.hpp>
#include <caf/response_promise.hpp>

#include "events.pb.h"
#include "state/cluster_state.hpp"
#include "wire.pb.h"

namespace claud {

struct state_query {
  enum kind_t { status, jobs, nodes, leader } kind;
  std::string job_id; // for status
};

/// Delivers the answer to `query` (not `leader`, which needs the raft state) or not_found.
void deliver_query(caf::response_promise& promise, const state_query& query,
                   const state::cluster_state& state);

pb::JobList job_list(const state::cluster_state& state);

/// The records of the jobs `ids` names, in that order; not_found for the first id of no job.
caf::expected<pb::JobList> job_records(const state::cluster_state& state, const pb::JobIds& ids);
pb::NodeList node_list(const state::cluster_state& state);

/// What `filter` selects in `state` as a snapshot batch of the event stream, at `index`.
pb::EventBatch event_snapshot(const state::cluster_state& state, uint64_t index,
                              const pb::EventFilter& filter);

/// The job the submission under idempotency key `key` made; not_found if the state knows none.
caf::expected<pb::Job> submission_job(const state::cluster_state& state, const std::string& key);

} // namespace claud
