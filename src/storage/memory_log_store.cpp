#include "storage/memory_log_store.hpp"

#include <algorithm>
#include <optional>

namespace claud::storage {

namespace {

// Applies save_snapshot's rule to `log`, whose first entry has index `first` and which follows a
// snapshot of term `previous_term`. Returns how many entries were dropped from its front, or
// nullopt when the whole log was dropped.
std::optional<uint64_t> compact(std::vector<pb::LogEntry>* log, uint64_t first,
                                uint64_t previous_term, const pb::Snapshot& snapshot) {
  uint64_t index = snapshot.index();
  uint64_t last = first + log->size() - 1;
  uint64_t term_at
      = index < first ? previous_term : (index <= last ? (*log)[index - first].term() : 0);
  if (!snapshot_keeps_log(snapshot, last, term_at)) {
    log->clear();
    return std::nullopt;
  }
  uint64_t dropped = index + 1 - first;
  log->erase(log->begin(), log->begin() + static_cast<std::ptrdiff_t>(dropped));
  return dropped;
}

} // namespace

void memory_log_store::append(const std::vector<pb::LogEntry>& entries) {
  uint64_t cut_from = check_append(entries, first_index(), last_index());
  entries_.resize(cut_from - first_index());
  entries_.insert(entries_.end(), entries.begin(), entries.end());
  unchanged_prefix_ = std::min<uint64_t>(unchanged_prefix_, cut_from - first_index());
}

void memory_log_store::set_hard_state(const pb::HardState& state) {
  hard_state_ = state;
}

void memory_log_store::save_snapshot(const pb::Snapshot& snapshot) {
  check_snapshot(snapshot, snapshot_);
  // The durable copy is compacted by its own content: a crash restores exactly what the file store
  // would recover from the snapshot and its synced segments.
  auto dropped = compact(&entries_, first_index(), snapshot_.term(), snapshot);
  auto synced_dropped = compact(&synced_entries_, first_index(), snapshot_.term(), snapshot);
  if (dropped && synced_dropped && unchanged_prefix_ > *dropped)
    unchanged_prefix_ -= *dropped; // both dropped the same prefix
  else
    unchanged_prefix_ = 0;
  snapshot_ = snapshot;
}

bool memory_log_store::adopt_snapshot(const pb::Snapshot& snapshot) {
  if (snapshot_.index() != 0 && snapshot.index() <= snapshot_.index())
    return false; // nothing was staged to discard
  save_snapshot(snapshot);
  return true;
}

void memory_log_store::sync() {
  ++sync_count_;
  synced_entries_.resize(unchanged_prefix_);
  synced_entries_.insert(synced_entries_.end(),
                         entries_.begin() + static_cast<std::ptrdiff_t>(unchanged_prefix_),
                         entries_.end());
  unchanged_prefix_ = entries_.size();
  synced_hard_state_ = hard_state_;
}

void memory_log_store::lose_unsynced() {
  entries_ = synced_entries_;
  hard_state_ = synced_hard_state_;
  unchanged_prefix_ = entries_.size();
}

std::unique_ptr<log_store> make_memory_log_store() {
  return std::make_unique<memory_log_store>();
}

} // namespace claud::storage
