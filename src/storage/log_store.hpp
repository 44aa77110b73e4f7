#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "log.pb.h"
#include "raft.pb.h"

namespace claud::storage {

/// What the consensus layer persists through: the raft log and the hard state (term, vote,
/// commit). Raft's rule is that both must be durable before any message that depends on them is
/// sent, so the leader-election actor calls append/set_hard_state for one ready() batch, then one
/// sync() (group commit), then sends.
///
/// Indices are contiguous from first_index() to last_index(); the log is empty when
/// last_index() == first_index() - 1. Entries up to the latest snapshot's index are compacted away,
/// so first_index() == snapshot().index() + 1 (1 without a snapshot) and
/// last_index() >= snapshot().index().
///
/// Not thread-safe, but for stage_snapshot: one actor owns a store. A storage_error from append or
/// sync leaves the store in an unknown state; the owner must stop the node (it recovers on restart)
/// rather than retry.
class log_store {
public:
  virtual ~log_store() = default;

  /// Everything recovered at open plus what was appended since, in index order (a copy).
  virtual std::vector<pb::LogEntry> entries() const = 0;

  /// The last hard state set (the recovered one after open; a default one for a new store). Its
  /// commit may be below first_index() but never above last_index().
  virtual pb::HardState hard_state() const = 0;

  /// The latest snapshot saved (index 0 when none). Recovered at open.
  virtual pb::Snapshot snapshot() const = 0;

  /// Appends `entries`, whose indices must be consecutive. If the first index is <= last_index()
  /// the existing suffix from that index on is removed first (raft overwrites a conflicting
  /// suffix); it must not be above last_index() + 1 nor below first_index() (so never at or below
  /// the snapshot's index). Violations throw std::logic_error and change nothing. Durable after
  /// sync().
  virtual void append(const std::vector<pb::LogEntry>& entries) = 0;

  /// Durably saves `snapshot` and drops every log entry with index <= snapshot.index(); entries
  /// after it stay (raft's compaction of applied entries). If snapshot.index() >= last_index(), or
  /// the log's entry at snapshot.index() has another term than the snapshot, the whole log is
  /// dropped and continues at snapshot.index() + 1: that is a follower installing a leader's
  /// snapshot, and entries after a conflicting entry belong to a history the snapshot replaced.
  /// After it, first_index() == snapshot.index() + 1 and, if the log became empty,
  /// last_index() == snapshot.index().
  ///
  /// A snapshot with index 0, older than snapshot(), or at the same index with another term is a
  /// std::logic_error and changes nothing (saving the same index and term again replaces it). It is
  /// durable when it returns, without waiting for sync(); unsynced appended entries above the
  /// snapshot stay unsynced until sync().
  virtual void save_snapshot(const pb::Snapshot& snapshot) = 0;

  /// save_snapshot in two steps, for an owner that writes its snapshot on another thread while it
  /// goes on using the store. stage_snapshot makes `snapshot` durable where open() would recover
  /// it (throws storage_error), and may run on any thread, concurrently with the owner's calls:
  /// it changes nothing they see. adopt_snapshot, on the owner's thread, then does the rest of
  /// save_snapshot (the snapshot becomes snapshot(), the entries it covers are dropped). A staged
  /// snapshot not newer than snapshot() — a leader's, installed meanwhile, overtook it — is not
  /// adopted: adopt_snapshot discards it and returns false.
  virtual void stage_snapshot(const pb::Snapshot& snapshot) const = 0;
  virtual bool adopt_snapshot(const pb::Snapshot& snapshot) = 0;

  /// Replaces the hard state; durable after sync().
  virtual void set_hard_state(const pb::HardState& state) = 0;

  /// Makes everything appended and set so far durable, with as few fsyncs as it can.
  virtual void sync() = 0;

  virtual uint64_t last_index() const = 0;
  virtual uint64_t first_index() const = 0;
};

/// Checks an append against the contract above and returns the index from which the existing log
/// must be cut (last_index + 1 when nothing is cut). Throws std::logic_error. For implementations.
uint64_t check_append(const std::vector<pb::LogEntry>& entries, uint64_t first_index,
                      uint64_t last_index);

/// Checks that `snapshot` may replace `current`, the store's latest (see save_snapshot). Throws
/// std::logic_error. For implementations.
void check_snapshot(const pb::Snapshot& snapshot, const pb::Snapshot& current);

/// Whether save_snapshot(snapshot) keeps the entries after snapshot.index() rather than dropping
/// the whole log: the log must go on past that index and hold it with the snapshot's term
/// (`term_at` is the term of the entry at snapshot.index(), or of the current snapshot at its own
/// index). For implementations.
bool snapshot_keeps_log(const pb::Snapshot& snapshot, uint64_t last_index, uint64_t term_at);

/// A store that keeps everything in memory, for tests and the simulator (see memory_log_store.hpp
/// for simulating the loss of unsynced data).
std::unique_ptr<log_store> make_memory_log_store();

/// The production store in DATA/raft (see file_log_store.hpp for the files). Creates the directory
/// if needed and recovers what is there; throws storage_error when it is corrupt or unreadable.
std::unique_ptr<log_store> make_file_log_store(const std::string& raft_dir);

} // namespace claud::storage
