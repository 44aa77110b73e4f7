#pragma once
// The cluster as an actor, for programs that are CAF actors themselves (actor scripts). Spawn it
// once and ask it with request(...).then(...): nothing blocks. It connects to the masters, follows
// the leader, and retries through failovers and lost masters as claud::client does (the same
// rules, src/client/request_retries.hpp); subscribers receive the event stream as messages.
//
//   (submit_atom, pb::JobSpec)        -> pb::Job once committed and durable (an idempotency key
//                                        is added to a spec without one, so retries make one job)
//   (status_atom, std::string job_id) -> pb::Job
//   (kill_atom, std::string job_id)   -> pb::Job once the kill request is committed
//   (nodes_atom)                      -> pb::NodeList
//   (events_atom, pb::EventFilter, caf::actor subscriber) -> uint64_t subscription
//        The subscriber then receives (events_atom, pb::EventBatch) whose `subscription` is that
//        number, in log order: a snapshot of what the filter selects (batches marked snapshot,
//        the last one snapshot_done), then each event as it commits, across master failures with
//        no gap and no repeat. It acknowledges nothing (the cluster actor does). A batch with
//        `ended` set is the last: the stream could not be resumed within request_timeout.
//   (unsubscribe_atom, uint64_t subscription) ends one; a subscriber that exits ends its own.
// Failures come back as caf::error in claud's category; error_message() gives the line.
//
// The actor system must be configured with configure_networked_system() (and configure_tls()
// for a cluster with TLS) before it starts.

#include <chrono>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/fwd.hpp>

#include "claud/protocol.hpp"

namespace claud {

struct cluster_options {
  std::vector<std::string> addresses;               // HOST:PORT of masters, tried in order
  std::chrono::milliseconds connect_timeout{1000};  // reaching one master
  std::chrono::milliseconds attempt_timeout{3000};  // one try at one master
  std::chrono::milliseconds request_timeout{10000}; // all tries, through failovers
  // A subscription that hears nothing this long (its master sends a keepalive every second)
  // moves to another master, resuming where it was.
  std::chrono::milliseconds event_silence{3000};
};

/// Spawns the cluster actor; throws std::invalid_argument for an empty or malformed address list.
caf::actor spawn_cluster(caf::actor_system& system, cluster_options options);

} // namespace claud
