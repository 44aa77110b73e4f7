#pragma once
// A master's disk in the simulator: a memory_log_store plus the one thing it cannot do alone, a
// crash in the middle of a ready batch. replica::process() persists a batch (append, hard state)
// and then syncs; the interesting crash is *inside* that window, when the writes reached the disk
// only in part. Once armed, the next sync() keeps a random prefix of the unsynced writes, as the
// file store can leave them (the log reaches the disk before the hard state, and only a torn tail
// of the log is lost), and throws simulated_crash instead of returning, so the batch's messages
// are never sent. Between batches nothing is unsynced and lose_unsynced() loses nothing.

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <vector>

#include "prng.hpp"
#include "storage/memory_log_store.hpp"

namespace claud::sim {

/// Thrown by an armed store's sync(): the process died before the batch was durable.
struct simulated_crash : std::runtime_error {
  simulated_crash() : std::runtime_error("simulated crash during sync") {}
};

class crash_store : public storage::log_store {
public:
  crash_store() = default;

  std::vector<pb::LogEntry> entries() const override {
    return disk_.entries();
  }
  pb::HardState hard_state() const override {
    return disk_.hard_state();
  }
  pb::Snapshot snapshot() const override {
    return disk_.snapshot();
  }
  void append(const std::vector<pb::LogEntry>& entries) override;
  void set_hard_state(const pb::HardState& state) override;
  void save_snapshot(const pb::Snapshot& snapshot) override;
  void stage_snapshot(const pb::Snapshot& snapshot) const override {
    disk_.stage_snapshot(snapshot);
  }
  bool adopt_snapshot(const pb::Snapshot& snapshot) override {
    return disk_.adopt_snapshot(snapshot);
  }
  void sync() override;
  uint64_t last_index() const override {
    return disk_.last_index();
  }
  uint64_t first_index() const override {
    return disk_.first_index();
  }

  /// The next sync() keeps a prefix of the unsynced writes drawn from `seed`, without the last
  /// appended entry, and throws simulated_crash. With `keep_all` the whole batch is kept (crashed
  /// after the sync, before sending).
  void arm_crash(uint64_t seed, bool keep_all);
  bool armed() const {
    return armed_.has_value();
  }
  void disarm() {
    armed_.reset();
  }
  /// A crash between batches: whatever was not synced is lost.
  void lose_unsynced();

private:
  struct armed_crash {
    uint64_t seed;
    bool keep_all;
  };
  void tear(prng& rng);

  storage::memory_log_store disk_;
  // What was written since the last sync, in order: the torn crash replays a prefix of it.
  std::vector<std::vector<pb::LogEntry>> pending_appends_;
  std::optional<pb::HardState> pending_hard_state_;
  std::optional<armed_crash> armed_;
};

} // namespace claud::sim
