#include "crash_store.hpp"

#include <algorithm>

namespace claud::sim {

void crash_store::append(const std::vector<pb::LogEntry>& entries) {
  disk_.append(entries);
  pending_appends_.push_back(entries);
}

void crash_store::set_hard_state(const pb::HardState& state) {
  disk_.set_hard_state(state);
  pending_hard_state_ = state;
}

void crash_store::save_snapshot(const pb::Snapshot& snapshot) {
  // Durable at once (the log_store contract); entries it covers need no replay after a crash.
  disk_.save_snapshot(snapshot);
}

void crash_store::sync() {
  if (armed_) {
    prng rng(armed_->seed);
    const bool keep_all = armed_->keep_all;
    armed_.reset();
    if (keep_all) {
      disk_.sync();
    } else {
      tear(rng);
    }
    pending_appends_.clear();
    pending_hard_state_.reset();
    throw simulated_crash{};
  }
  disk_.sync();
  pending_appends_.clear();
  pending_hard_state_.reset();
}

void crash_store::arm_crash(uint64_t seed, bool keep_all) {
  armed_ = armed_crash{seed, keep_all};
}

void crash_store::lose_unsynced() {
  disk_.lose_unsynced();
  pending_appends_.clear();
  pending_hard_state_.reset();
  armed_.reset();
}

void crash_store::tear(prng& rng) {
  size_t pending = 0;
  for (const auto& batch : pending_appends_)
    pending += batch.size();
  // A torn write loses at least the batch's last record (keeping it all is crash_mode::after_sync).
  auto keep = pending == 0 ? size_t{0} : static_cast<size_t>(rng.below(pending));
  const bool all_entries = keep == pending;
  disk_.lose_unsynced();
  // Replay the first `keep` entries in write order. A snapshot saved meanwhile is durable and may
  // cover some of them: those are skipped; a batch that no longer joins the log ends the replay.
  for (const auto& batch : pending_appends_) {
    if (keep == 0)
      break;
    std::vector<pb::LogEntry> part;
    for (const auto& entry : batch) {
      if (keep == 0)
        break;
      --keep;
      if (entry.index() >= disk_.first_index())
        part.push_back(entry);
    }
    if (part.empty())
      continue;
    if (part.front().index() > disk_.last_index() + 1)
      break;
    disk_.append(part);
  }
  // The file store writes the hard state only after the log is durable.
  if (all_entries && pending_hard_state_ && rng.chance(0.5))
    disk_.set_hard_state(*pending_hard_state_);
  disk_.sync();
}

} // namespace claud::sim
