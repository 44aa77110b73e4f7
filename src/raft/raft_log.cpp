#include "raft/raft_log.hpp"

#include <algorithm>
#include <stdexcept>

namespace claud::raft {

raft_log::raft_log(const pb::Snapshot& snapshot, std::vector<pb::LogEntry> entries,
                   uint64_t committed)
    : snapshot_index_(snapshot.index()), snapshot_term_(snapshot.term()) {
  for (auto& entry : entries)
    if (entry.index() > snapshot_index_)
      entries_.push_back(std::move(entry));
  for (size_t i = 0; i < entries_.size(); ++i)
    if (entries_[i].index() != snapshot_index_ + 1 + i)
      throw std::logic_error("raft_log: recovered entries are not contiguous");
  stable_index_ = last_index();
  committed_ = std::clamp(committed, snapshot_index_, last_index());
  applied_ = snapshot_index_;
}

uint64_t raft_log::term(uint64_t index) const {
  if (index == snapshot_index_)
    return snapshot_term_;
  if (index < snapshot_index_ || index > last_index())
    return 0;
  return entries_[index - snapshot_index_ - 1].term();
}

bool raft_log::matches(uint64_t index, uint64_t log_term) const {
  if (index < snapshot_index_)
    return true; // compacted entries were committed, and committed entries match everywhere
  return index <= last_index() && term(index) == log_term;
}

bool raft_log::is_up_to_date(uint64_t other_last_index, uint64_t other_last_term) const {
  return other_last_term > last_term()
         || (other_last_term == last_term() && other_last_index >= last_index());
}

uint64_t raft_log::append_after(uint64_t index, const std::vector<pb::LogEntry>& entries) {
  for (const auto& entry : entries) {
    if (entry.index() <= snapshot_index_)
      continue;
    if (entry.index() <= last_index()) {
      if (term(entry.index()) == entry.term())
        continue;
      if (entry.index() <= committed_)
        throw std::logic_error("raft_log: a committed entry would be overwritten");
      entries_.resize(entry.index() - snapshot_index_ - 1);
      stable_index_ = std::min(stable_index_, entry.index() - 1);
    }
    entries_.push_back(entry);
  }
  return entries.empty() ? index : std::max(index, entries.back().index());
}

uint64_t raft_log::append(pb::LogEntry entry) {
  entry.set_index(last_index() + 1);
  entries_.push_back(std::move(entry));
  return last_index();
}

std::vector<pb::LogEntry> raft_log::slice(uint64_t from, size_t max_count) const {
  std::vector<pb::LogEntry> out;
  for (uint64_t i = std::max(from, first_index()); i <= last_index() && out.size() < max_count; ++i)
    out.push_back(entries_[i - snapshot_index_ - 1]);
  return out;
}

std::vector<pb::LogEntry> raft_log::unstable_entries() const {
  return slice(stable_index_ + 1, entries_.size());
}

std::vector<pb::LogEntry> raft_log::entries_to_apply() const {
  std::vector<pb::LogEntry> out;
  for (uint64_t i = std::max(applied_ + 1, first_index()); i <= committed_; ++i)
    out.push_back(entries_[i - snapshot_index_ - 1]);
  return out;
}

void raft_log::commit_to(uint64_t index) {
  index = std::min(index, last_index());
  if (index > committed_)
    committed_ = index;
}

void raft_log::stable_to(uint64_t index) {
  stable_index_ = std::max(stable_index_, std::min(index, last_index()));
}

void raft_log::applied_to(uint64_t index) {
  if (index > committed_)
    throw std::logic_error("raft_log: applied beyond the commit index");
  applied_ = std::max(applied_, index);
}

void raft_log::restore(const pb::Snapshot& snapshot) {
  snapshot_index_ = snapshot.index();
  snapshot_term_ = snapshot.term();
  entries_.clear();
  committed_ = snapshot_index_;
  applied_ = snapshot_index_;
  stable_index_ = snapshot_index_;
}

void raft_log::compact_to(uint64_t index) {
  if (index <= snapshot_index_)
    return;
  if (index > applied_)
    throw std::logic_error("raft_log: compacting beyond the applied index");
  snapshot_term_ = term(index);
  entries_.erase(entries_.begin(), entries_.begin() + static_cast<long>(index - snapshot_index_));
  snapshot_index_ = index;
}

} // namespace claud::raft
