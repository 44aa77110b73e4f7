#include "storage/memory_log_store.hpp"

#include <algorithm>

namespace claud::storage {

void memory_log_store::append(const std::vector<pb::LogEntry>& entries) {
  uint64_t cut_from = check_append(entries, first_index(), last_index());
  entries_.resize(cut_from - first_index());
  entries_.insert(entries_.end(), entries.begin(), entries.end());
  unchanged_prefix_ = std::min<uint64_t>(unchanged_prefix_, cut_from - first_index());
}

void memory_log_store::set_hard_state(const pb::HardState& state) {
  hard_state_ = state;
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
