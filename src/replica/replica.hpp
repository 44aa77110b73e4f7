#pragma once
// A master's replica of the cluster: the raft core, the log store it persists through, and the
// cluster state machine it applies committed entries to. `process()` is etcd's ready loop —
// persist (entries, hard state, one sync), then hand out messages (a leader's before its sync),
// then apply, then advance — and
// takes a snapshot (compacting the log) every `snapshot_every_entries` applied entries. Taking
// one costs the raft thread the live state's serialization only: the host writes it (build,
// encode, fsync) on a thread of its own and hands it back with snapshot_saved().
//
// No CAF, clock or sockets: the leader_election actor and the simulator drive the same code, with
// the file store in production and the memory store in the simulator.

#include <functional>
#include <memory>
#include <optional>
#include <vector>

#include "raft/raft_node.hpp"
#include "state/cluster_state.hpp"
#include "state/events.hpp"
#include "storage/log_store.hpp"

namespace claud::replica {

struct replica_options {
  raft::raft_config raft;
  uint64_t seed = 0;
  uint64_t snapshot_every_entries = 10000;
};

struct applied_entry {
  pb::LogEntry entry;
  state::apply_result result;
  // What the entry told (state::events_of), made as it was applied: a later entry of the same
  // batch must not change what an earlier one says.
  std::vector<pb::Event> events;
};

/// A snapshot for the host to write: write() may run on any thread (the parts are the state's
/// shared, immutable chunks and copies; the store's stage_snapshot is thread-safe).
struct snapshot_request {
  uint64_t index = 0;
  uint64_t term = 0;
  state::state_snapshot state;
  pb::Membership membership; // raft's, as of `index`
  std::shared_ptr<storage::log_store> store;
  /// Builds the snapshot and makes it durable (log_store::stage_snapshot); throws storage_error.
  pb::Snapshot write() const;
};

struct output {
  std::vector<pb::RaftMessage> messages; // to send; what they depend on is already durable
  std::vector<applied_entry> applied;    // applied to the state machine, in log order
  std::vector<raft::read_state> reads;   // reads confirmed by a quorum
  bool snapshot_installed = false;       // the state machine was replaced by a leader's snapshot
  std::optional<snapshot_request> snapshot_to_write; // then give it back to snapshot_saved()
};

class replica {
public:
  /// Recovers the state machine from the store's snapshot; committed entries after it are applied
  /// by the first process(). Throws std::invalid_argument for a bad raft configuration.
  replica(replica_options options, std::shared_ptr<storage::log_store> store);

  raft::raft_node& raft() {
    return raft_;
  }
  const raft::raft_node& raft() const {
    return raft_;
  }
  const state::cluster_state& state() const {
    return state_;
  }

  /// Since this replica started: how many syncs of the store, and how many entries they carried.
  uint64_t syncs() const {
    return syncs_;
  }
  uint64_t entries_written() const {
    return entries_written_;
  }

  using message_sink = std::function<void(pb::RaftMessage&)>;

  /// Runs the ready loop until the core has nothing left. Throws storage::storage_error when the
  /// store fails; the node must then stop (what reached the disk is unknown). With
  /// `send_before_sync`, a leader's messages go to it before its sync instead of into the output.
  output process(const message_sink& send_before_sync = {});

  /// The snapshot output::snapshot_to_write asked for is durable: the store adopts it and the log
  /// is compacted up to it (unless a leader's snapshot, installed meanwhile, is newer). Throws
  /// storage::storage_error like process(). Until then no other snapshot is asked for.
  void snapshot_saved(pb::Snapshot snapshot);

private:
  replica(replica_options options, std::shared_ptr<storage::log_store> store,
          const pb::Snapshot& recovered);
  void maybe_snapshot(output& out);
  /// Raft's RAFT_SNAPSHOT messages carry only the snapshot's index and term: adds the store's.
  void attach_snapshot_data(std::vector<pb::RaftMessage>& messages) const;

  replica_options options_;
  std::shared_ptr<storage::log_store> store_;
  state::cluster_state state_;
  raft::raft_node raft_;
  uint64_t syncs_ = 0;
  uint64_t entries_written_ = 0;
  bool snapshot_in_flight_ = false;
};

} // namespace claud::replica
