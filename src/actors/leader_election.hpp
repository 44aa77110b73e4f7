#pragma once
// leader_election: the master's replica of the cluster state behind the raft protocol. It wraps
// replica::replica (the pure raft core, the log store and the state machine) and does its I/O:
// ticks from a timer, raft messages to and from the other masters through the peer_directory,
// proposals and reads from the other actors. It is the only writer of the log.
//
// Interface:
//   (propose_atom, pb::LogEntry)  -> std::string, the job id the entry is about, once the entry
//        is committed by a majority, durable, and applied; errc::conflict when applying it was a
//        no-op (with the reason); errc::not_leader when this master does not lead;
//        errc::unavailable when leadership changed before it committed (it did not commit)
//   (propose_atom, status_atom, pb::LogEntry) -> pb::Job: the same, answered with the record of
//        the job as that entry left it (what a submitter wants, without one more read)
//   (status_atom, std::string) -> pb::Job, (jobs_atom) -> pb::JobList, (nodes_atom) ->
//        pb::NodeList, (leader_atom) -> pb::LeaderInfo: linearizable reads (read-index), leader
//        only, errc::not_leader elsewhere
//   (local_atom, <one of the reads above>) -> the same, answered from this master's state at once
//   (view_atom) -> pb::ClusterState with every node and the pending jobs (local; the scheduler's
//        proposals are checked again when applied)
//   (local_atom, submit_atom, std::string key) -> pb::Job the submission under that idempotency
//        key made, from this master's state; errc::not_found if it knows none
//   (subscribe_atom, caf::actor) -> the subscriber receives (role_atom, bool leads, std::string
//        leader address, uint64_t term) now and on every change of role or leader, and after
//        every commit (job_update_atom, pb::Job) / (node_update_atom, pb::Node) for each record
//        that changed
//   (raft_atom, pb::RaftMessage), (peer_down_atom, std::string address), (peer_up_atom,
//        std::string address, caf::actor api): from the network and peer_directory
//
// Every message it handles only steps the core; one flush, sent to itself, then persists what
// all of them produced with a single fsync (group commit), sends, applies and answers. It runs on
// CAF's workers like every actor (the fsync blocks one of them for its duration): a detached
// actor can hang CAF 0.17's shutdown.

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/fwd.hpp>

#include "storage/log_store.hpp"

namespace claud {

struct leader_election_config {
  std::string node_id;              // this master's name
  std::string address;              // its HOST:PORT, its identity among the masters
  std::vector<std::string> masters; // every master's HOST:PORT, this one included
  std::shared_ptr<storage::log_store> log;
  caf::actor peers;  // the peer_directory
  caf::actor events; // the event_hub, told of every entry applied (none: no event stream)
  std::chrono::milliseconds tick{10};
  int heartbeat_ticks = 5;
  int election_ticks = 30;
  uint64_t seed = 0;
  uint64_t snapshot_every_entries = 10000;
};

/// Recovers the replica from the log store (throws storage::storage_error or
/// std::invalid_argument) and spawns the actor.
caf::actor spawn_leader_election(caf::actor_system& system, leader_election_config config);

} // namespace claud
