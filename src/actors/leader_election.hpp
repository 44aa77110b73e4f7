#pragma once
// leader_election: the only writer of the master's durable log and the owner of the cluster state
// machine. Today it leads a group of one master, so an entry is committed once it is written and
// fsync'd locally; the replicated (raft) log replaces this without changing the interface.
//
// Interface (all requests answered only after the entry is durable and applied):
//   (propose_atom, pb::LogEntry)   -> std::string job id the entry is about, or errc::conflict
//                                     when applying it was a no-op (with the reason)
//   (subscribe_atom, caf::actor)   -> void; the subscriber then receives, after every commit,
//                                     (job_update_atom, pb::Job) and (node_update_atom, pb::Node)
//                                     for each record that changed
//   (status_atom, std::string)     -> pb::Job or errc::not_found
//   (jobs_atom) -> pb::JobList, (nodes_atom) -> pb::NodeList, (leader_atom) -> pb::LeaderInfo
//   (view_atom)                    -> pb::ClusterState holding every node and the pending jobs
//
// Group commit: proposals queue up and a flush message, sent to itself, writes all of them with
// one fsync, so every proposal already in the mailbox shares that fsync. It runs detached (its own
// thread) because fsync blocks.

#include <memory>
#include <string>

#include <caf/fwd.hpp>

#include "storage/log_store.hpp"

namespace claud {

struct leader_election_config {
  std::string node_id;
  std::string address;
  std::shared_ptr<storage::log_store> log;
};

/// Recovers the state from the log (throws storage::storage_error) and spawns the actor.
caf::actor spawn_leader_election(caf::actor_system& system, leader_election_config config);

} // namespace claud
