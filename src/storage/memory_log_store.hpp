#pragma once

#include <cstdint>
#include <vector>

#include "storage/log_store.hpp"

namespace claud::storage {

/// A log_store in memory, for unit tests and the simulator. It keeps two copies of the log: what
/// was appended and set (what reads return) and what the last sync() made "durable".
/// lose_unsynced() throws the first away, which is what a crash does to a real disk, so the
/// simulator can restart a master with exactly its persisted state. A saved snapshot is durable at
/// once, as in the file store: it compacts both copies by the same rule and survives
/// lose_unsynced(). sync() costs O(entries changed since the last sync).
class memory_log_store : public log_store {
public:
  memory_log_store() = default;

  std::vector<pb::LogEntry> entries() const override {
    return entries_;
  }
  pb::HardState hard_state() const override {
    return hard_state_;
  }
  pb::Snapshot snapshot() const override {
    return snapshot_;
  }
  void append(const std::vector<pb::LogEntry>& entries) override;
  void set_hard_state(const pb::HardState& state) override;
  void save_snapshot(const pb::Snapshot& snapshot) override;
  /// Nothing to write: adopt_snapshot keeps it (a crash before then loses it, as a crash before a
  /// file's rename does).
  void stage_snapshot(const pb::Snapshot&) const override {}
  bool adopt_snapshot(const pb::Snapshot& snapshot) override;
  void sync() override;
  uint64_t last_index() const override {
    return snapshot_.index() + entries_.size();
  }
  uint64_t first_index() const override {
    return snapshot_.index() + 1;
  }

  /// Simulates a crash: everything appended or set since the last sync() is forgotten; saved
  /// snapshots and what sync() covered stay.
  void lose_unsynced();

  /// How many times sync() was called, so tests can check that writes are batched.
  uint64_t sync_count() const {
    return sync_count_;
  }

private:
  pb::Snapshot snapshot_;
  // Both start at first_index().
  std::vector<pb::LogEntry> entries_;
  std::vector<pb::LogEntry> synced_entries_;
  pb::HardState hard_state_;
  pb::HardState synced_hard_state_;
  // entries_[0, unchanged_prefix_) equal synced_entries_[0, unchanged_prefix_).
  uint64_t unchanged_prefix_ = 0;
  uint64_t sync_count_ = 0;
};

} // namespace claud::storage
