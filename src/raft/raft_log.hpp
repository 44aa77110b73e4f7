#pragma once

#include <cstdint>
#include <deque>
#include <vector>

#include "log.pb.h"
#include "raft.pb.h"

namespace claud::raft {

/// The in-memory raft log of one master: a snapshot boundary, then entries. Indices are 1-based;
/// index 0 with term 0 is the empty log's sentinel.
///
///   snapshot_index  < first_index() .. stable_index .. last_index()
///                     applied <= committed <= last_index()
///
/// Entries after stable_index are not yet persisted; the node hands them out in `ready` and the
/// caller reports them persisted with stable_to().
class raft_log {
public:
  raft_log() = default;
  /// Rebuilds the log from what storage recovered: all of it is stable.
  raft_log(const pb::Snapshot& snapshot, std::vector<pb::LogEntry> entries, uint64_t committed);

  uint64_t first_index() const {
    return snapshot_index_ + 1;
  }
  uint64_t last_index() const {
    return snapshot_index_ + entries_.size();
  }
  uint64_t last_term() const {
    return term(last_index());
  }
  uint64_t committed() const {
    return committed_;
  }
  uint64_t applied() const {
    return applied_;
  }
  uint64_t stable_index() const {
    return stable_index_;
  }
  uint64_t snapshot_index() const {
    return snapshot_index_;
  }
  uint64_t snapshot_term() const {
    return snapshot_term_;
  }

  /// The term of the entry at `index`; 0 when unknown (compacted away or beyond the end).
  uint64_t term(uint64_t index) const;

  /// Whether the entry at `index` has `log_term` (index 0 matches term 0).
  bool matches(uint64_t index, uint64_t log_term) const;

  /// Whether a log ending at (last_index, last_term) is at least as up to date as this one.
  bool is_up_to_date(uint64_t last_index, uint64_t last_term) const;

  /// Appends entries that follow (index, log_term) as a follower does: entries already present
  /// with the same term are kept, the first conflicting one and everything after it is replaced.
  /// Returns the index of the last new entry. Precondition: matches(index, log_term).
  uint64_t append_after(uint64_t index, const std::vector<pb::LogEntry>& entries);

  /// Appends one entry at the end (the leader's own proposals); returns its index.
  uint64_t append(pb::LogEntry entry);

  /// The entry at `index`, or null when it is compacted away or beyond the end.
  const pb::LogEntry* at(uint64_t index) const {
    return index < first_index() || index > last_index() ? nullptr
                                                         : &entries_[index - snapshot_index_ - 1];
  }

  /// Entries [from, last_index()], at most `max_count`.
  std::vector<pb::LogEntry> slice(uint64_t from, size_t max_count) const;

  std::vector<pb::LogEntry> unstable_entries() const;
  std::vector<pb::LogEntry> entries_to_apply() const;

  void commit_to(uint64_t index);
  void stable_to(uint64_t index);
  void applied_to(uint64_t index);

  /// Replaces the whole log by a snapshot received from the leader.
  void restore(const pb::Snapshot& snapshot);
  /// Drops entries up to `index` (applied and covered by a snapshot taken by the caller).
  void compact_to(uint64_t index);

private:
  uint64_t snapshot_index_ = 0;
  uint64_t snapshot_term_ = 0;
  std::deque<pb::LogEntry> entries_; // entries_[0] has index snapshot_index_ + 1
  uint64_t committed_ = 0;
  uint64_t applied_ = 0;
  uint64_t stable_index_ = 0;
};

} // namespace claud::raft
