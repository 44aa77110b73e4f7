#pragma once

#include <cstdint>
#include <vector>

#include "storage/log_store.hpp"

namespace claud::storage {

/// A log_store in memory, for unit tests and the simulator. It keeps two copies: what was appended
/// and set (what reads return) and what the last sync() made "durable". lose_unsynced() throws the
/// first away, which is what a crash does to a real disk, so the simulator can restart a master
/// with exactly its persisted state. sync() costs O(entries changed since the last sync).
class memory_log_store : public log_store {
public:
  memory_log_store() = default;

  std::vector<pb::LogEntry> entries() const override {
    return entries_;
  }
  pb::HardState hard_state() const override {
    return hard_state_;
  }
  void append(const std::vector<pb::LogEntry>& entries) override;
  void set_hard_state(const pb::HardState& state) override;
  void sync() override;
  uint64_t last_index() const override {
    return entries_.size(); // first_index() is always 1: no compaction yet
  }
  uint64_t first_index() const override {
    return 1;
  }

  /// Simulates a crash: everything appended or set since the last sync() is forgotten.
  void lose_unsynced();

  /// How many times sync() was called, so tests can check that writes are batched.
  uint64_t sync_count() const {
    return sync_count_;
  }

private:
  std::vector<pb::LogEntry> entries_;
  pb::HardState hard_state_;
  std::vector<pb::LogEntry> synced_entries_;
  pb::HardState synced_hard_state_;
  // entries_[0, unchanged_prefix_) equal synced_entries_[0, unchanged_prefix_).
  uint64_t unchanged_prefix_ = 0;
  uint64_t sync_count_ = 0;
};

} // namespace claud::storage
