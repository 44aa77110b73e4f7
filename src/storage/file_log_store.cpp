#include "storage/file_log_store.hpp"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string_view>
#include <utility>

#include <fmt/format.h>

#include "storage/file_util.hpp"
#include "storage/snapshot_file.hpp"
#include "storage/storage_error.hpp"

namespace claud::storage {

namespace {

constexpr char meta_format_v1 = '\x01';
constexpr std::string_view segment_prefix = "log-";
constexpr std::string_view segment_suffix = ".seg";

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

void remove_file(const std::string& path) {
  if (::unlink(path.c_str()) != 0 && errno != ENOENT)
    file_util::throw_io_error("remove", path, errno);
}

} // namespace

file_log_store::file_log_store(std::string raft_dir, file_log_store_config config)
    : raft_dir_(std::move(raft_dir)), meta_path_(raft_dir_ + "/meta"), config_(config) {
  if (int err = file_util::make_dirs(raft_dir_); err != 0)
    file_util::throw_io_error("create directory", raft_dir_, err);
  auto names = file_util::list_dir(raft_dir_);
  recover_snapshot(names);
  recover_segments(names);
  recover_meta();
  reconcile_hard_state();
}

std::string file_log_store::segment_file_name(uint64_t first_index) {
  return file_util::numbered_name(segment_prefix, first_index, segment_suffix);
}

std::string file_log_store::segment_path(uint64_t first_index) const {
  return raft_dir_ + "/" + segment_file_name(first_index);
}

void file_log_store::recover_snapshot(const std::vector<std::string>& names) {
  std::vector<std::pair<uint64_t, std::string>> found;
  for (const auto& name : names) {
    if (!snapshot_file::is_snapshot_name(name))
      continue;
    std::string path = raft_dir_ + "/" + name;
    if (snapshot_file::is_temp_name(name)) {
      remove_file(path); // an interrupted save_snapshot; the snapshot before it is intact
      continue;
    }
    auto index = snapshot_file::parse_name(name);
    if (!index || *index == 0)
      throw storage_error(fmt::format("unexpected file {} (not a valid snapshot file name); {}",
                                      path, repair_advice));
    found.emplace_back(*index, std::move(path));
  }
  if (found.empty())
    return;
  std::sort(found.begin(), found.end());
  snapshot_ = snapshot_file::read(found.back().second, found.back().first);
  snapshot_.clear_data();
  snapshot_path_ = found.back().second;
  first_index_ = snapshot_.index() + 1;
  // Older ones are what a save_snapshot interrupted before its cleanup leaves.
  found.pop_back();
  for (const auto& older : found)
    remove_file(older.second);
}

void file_log_store::recover_segments(const std::vector<std::string>& names) {
  for (const auto& name : names) {
    if (name.compare(0, segment_prefix.size(), segment_prefix) != 0
        || !ends_with(name, segment_suffix))
      continue; // meta, meta.tmp, snapshots
    auto first = file_util::parse_numbered_name(name, segment_prefix, segment_suffix);
    if (!first || *first == 0)
      throw storage_error(fmt::format("unexpected file {}/{} (not a valid log segment name); {}",
                                      raft_dir_, name, repair_advice));
    segments_.push_back({*first, raft_dir_ + "/" + name});
  }
  std::sort(segments_.begin(), segments_.end(),
            [](const segment& a, const segment& b) { return a.first_index < b.first_index; });
  if (segments_.empty()) {
    start_segment(first_index_); // after the snapshot, if any
    return;
  }
  first_index_ = segments_.front().first_index;
  for (size_t k = 0; k < segments_.size(); ++k)
    recover_segment(segments_[k], k + 1 == segments_.size());
  skip_compacted_entries();
}

void file_log_store::recover_segment(const segment& seg, bool is_last) {
  uint64_t expected = last_index() + 1;
  if (seg.first_index != expected)
    throw storage_error(fmt::format("log segment {} starts at index {} but the log before it ends "
                                    "at index {}; {}",
                                    seg.path, seg.first_index, expected - 1, repair_advice));
  std::vector<std::string> records;
  record_file file = record_file::open(seg.path, &records);
  uint64_t offset = 0;
  for (const auto& record : records) {
    pb::LogEntry entry;
    if (!entry.ParseFromString(record))
      throw storage_error(fmt::format("cannot parse the log entry in {} at offset {}; {}", seg.path,
                                      offset, repair_advice));
    if (entry.index() != expected)
      throw storage_error(fmt::format("log entry in {} at offset {} has index {}, expected {}; {}",
                                      seg.path, offset, entry.index(), expected, repair_advice));
    if (!terms_.empty() && entry.term() < terms_.back())
      throw storage_error(fmt::format("log entry in {} at offset {} has term {}, below the "
                                      "previous entry's {}; {}",
                                      seg.path, offset, entry.term(), terms_.back(),
                                      repair_advice));
    terms_.push_back(entry.term());
    offsets_.push_back(offset);
    offset += record_file::header_bytes + record.size();
    ++expected;
  }
  // Earlier segments are only read again if a suffix cut reaches into them: no fd held meanwhile.
  if (is_last)
    tail_.emplace(std::move(file));
}

void file_log_store::skip_compacted_entries() {
  uint64_t index = snapshot_.index();
  if (index == 0)
    return;
  if (first_index_ > index + 1)
    throw storage_error(fmt::format("log segment {} starts at index {} but snapshot {} ends at "
                                    "index {}: entries {}..{} are missing; {}",
                                    segments_.front().path, first_index_, snapshot_path_, index,
                                    index + 1, first_index_ - 1, repair_advice));
  if (first_index_ == index + 1) {
    if (!terms_.empty() && terms_.front() < snapshot_.term())
      throw storage_error(fmt::format("log entry {} in {} has term {}, below the term {} of "
                                      "snapshot {}; {}",
                                      first_index_, segments_.front().path, terms_.front(),
                                      snapshot_.term(), snapshot_path_, repair_advice));
    return;
  }
  // Nothing after the snapshot, or a conflicting entry at its index: save_snapshot drops such a
  // log, and a crash interrupted it before it did (or before the drop reached the disk).
  if (!snapshot_keeps_log(snapshot_, last_index(), term_at(index)))
    drop_log();
  else
    compact_to(index);
}

void file_log_store::recover_meta() {
  // An interrupted rewrite leaves meta.tmp behind; meta itself is then the old, complete file.
  std::string tmp = meta_path_ + ".tmp";
  if (::unlink(tmp.c_str()) != 0 && errno != ENOENT)
    file_util::throw_io_error("remove", tmp, errno);
  std::vector<std::string> records;
  meta_.emplace(record_file::open(meta_path_, &records));
  if (records.empty())
    return;
  const std::string& last = records.back();
  if (last[0] != meta_format_v1)
    throw storage_error(fmt::format("{} has an unknown format (version byte {}); it was written "
                                    "by a newer claud or is corrupt — run that claud or {}",
                                    meta_path_, static_cast<int>(last[0]), repair_advice));
  if (!hard_state_.ParseFromArray(last.data() + 1, static_cast<int>(last.size() - 1)))
    throw storage_error(
        fmt::format("cannot parse the hard state in {} at offset {}; {}", meta_path_,
                    meta_->size_bytes() - record_file::header_bytes - last.size(), repair_advice));
  synced_hard_state_ = hard_state_.SerializeAsString();
}

void file_log_store::reconcile_hard_state() {
  // sync() makes the log durable before the hard state, so a durable commit never points past the
  // durable log; if it does, a segment was lost outside of claud. The log never ends before the
  // snapshot (last_index() >= snapshot_.index()), so a commit inside the snapshot passes.
  if (hard_state_.commit() > last_index())
    throw storage_error(fmt::format("{} says index {} is committed but the log in {} ends at index "
                                    "{}; {}",
                                    meta_path_, hard_state_.commit(), raft_dir_, last_index(),
                                    repair_advice));
  // A crash between the two fsyncs of one sync() can leave entries of a term the durable hard
  // state has not reached. The node had adopted that term when it accepted them, and had not
  // voted in it (a vote is synced and sent before that term's leader can send entries, so the same
  // batch can hold a vote only if its response was never sent): term = last term, no vote, is the
  // state it was in. Written at the next sync.
  // The same holds for a snapshot, which is durable at once, while the term of the leader that
  // sent it is durable only at the next sync.
  uint64_t last_term = terms_.empty() ? snapshot_.term() : terms_.back();
  if (last_term > hard_state_.term()) {
    hard_state_.set_term(last_term);
    hard_state_.clear_vote();
  }
}

void file_log_store::start_segment(uint64_t first_index) {
  // Only the last segment may have a torn tail after a crash (see the class comment).
  if (tail_ && tail_dirty_)
    tail_->sync();
  tail_dirty_ = false;
  std::string path = segment_path(first_index);
  std::vector<std::string> records;
  record_file file = record_file::open(path, &records);
  if (!records.empty())
    throw storage_error(fmt::format("log segment {} already exists with {} records while the log "
                                    "ends at index {}; {}",
                                    path, records.size(), first_index - 1, repair_advice));
  segments_.push_back({first_index, std::move(path)});
  tail_.emplace(std::move(file));
}

void file_log_store::cut_suffix(uint64_t index) {
  auto holder = std::upper_bound(segments_.begin(), segments_.end(), index,
                                 [](uint64_t i, const segment& seg) { return i < seg.first_index; })
                - 1;
  if (holder + 1 != segments_.end()) {
    // Last first, so that a crash in between still leaves contiguous segments.
    while (segments_.end() != holder + 1) {
      const std::string& path = segments_.back().path;
      if (::unlink(path.c_str()) != 0 && errno != ENOENT)
        file_util::throw_io_error("remove", path, errno);
      segments_.pop_back();
    }
    file_util::sync_dir(raft_dir_);
    std::vector<std::string> unused;
    tail_.emplace(record_file::open(holder->path, &unused));
  }
  size_t keep = index - first_index_;
  tail_->truncate(offsets_[keep]);
  tail_->sync();
  tail_dirty_ = false;
  terms_.resize(keep);
  offsets_.resize(keep);
}

void file_log_store::compact_to(uint64_t index) {
  auto dropped = static_cast<std::ptrdiff_t>(index + 1 - first_index_);
  terms_.erase(terms_.begin(), terms_.begin() + dropped);
  offsets_.erase(offsets_.begin(), offsets_.begin() + dropped);
  first_index_ = index + 1;
  // A segment is covered when the next one starts at or before index + 1; the last one never is.
  // Oldest first, so a crash in between leaves a contiguous log that still reaches index + 1 (and
  // leftovers of a lost unlink are skipped again at open: no directory fsync needed).
  size_t covered = 0;
  while (covered + 1 < segments_.size() && segments_[covered + 1].first_index <= index + 1)
    ++covered;
  for (size_t k = 0; k < covered; ++k)
    remove_file(segments_[k].path);
  segments_.erase(segments_.begin(), segments_.begin() + static_cast<std::ptrdiff_t>(covered));
}

void file_log_store::drop_log() {
  tail_.reset();
  tail_dirty_ = false; // what it holds is dropped, synced or not
  // Last first, so that a crash in between leaves a prefix of the old log, which open drops again.
  while (!segments_.empty()) {
    remove_file(segments_.back().path);
    segments_.pop_back();
  }
  terms_.clear();
  offsets_.clear();
  first_index_ = snapshot_.index() + 1;
  // The old segments must be gone for good before a new log can follow the snapshot, or a crash
  // could bring them back beside it (log-<snapshot index + 1>.seg may even be one of them).
  file_util::sync_dir(raft_dir_);
  start_segment(first_index_);
}

std::vector<pb::LogEntry> file_log_store::entries() const {
  std::vector<pb::LogEntry> entries;
  entries.reserve(terms_.size());
  for (const auto& seg : segments_) {
    uint64_t offset = 0;
    for (const auto& record : record_file::read(seg.path)) {
      pb::LogEntry entry;
      if (!entry.ParseFromString(record))
        throw storage_error(fmt::format("cannot parse the log entry in {} at offset {}; {}",
                                        seg.path, offset, repair_advice));
      offset += record_file::header_bytes + record.size();
      if (entry.index() >= first_index_) // the first segment may straddle the snapshot
        entries.push_back(std::move(entry));
    }
  }
  if (entries.size() != terms_.size())
    throw storage_error(fmt::format("the log in {} holds {} entries from index {} where {} were "
                                    "written; {}",
                                    raft_dir_, entries.size(), first_index_, terms_.size(),
                                    repair_advice));
  return entries;
}

uint64_t file_log_store::term_at(uint64_t index) const {
  if (index >= first_index_ && index <= last_index())
    return terms_[index - first_index_];
  return index == snapshot_.index() ? snapshot_.term() : 0;
}

pb::Snapshot file_log_store::snapshot() const {
  return snapshot_path_.empty() ? snapshot_
                                : snapshot_file::read(snapshot_path_, snapshot_.index());
}

void file_log_store::save_snapshot(const pb::Snapshot& snapshot) {
  check_snapshot(snapshot, snapshot_);
  stage_snapshot(snapshot); // durable before any entry it covers is dropped
  adopt_snapshot(snapshot);
}

void file_log_store::stage_snapshot(const pb::Snapshot& snapshot) const {
  // Only raft_dir_, which never changes, is read: safe beside the owner's calls.
  snapshot_file::write(raft_dir_ + "/" + snapshot_file::name(snapshot.index()),
                       snapshot_file::encode(snapshot));
}

bool file_log_store::adopt_snapshot(const pb::Snapshot& snapshot) {
  std::string path = raft_dir_ + "/" + snapshot_file::name(snapshot.index());
  if (snapshot_.index() != 0 && snapshot.index() <= snapshot_.index()) {
    if (path != snapshot_path_) // saved again at the same index, it replaced the file
      remove_file(path);
    return false;
  }
  check_snapshot(snapshot, snapshot_);
  bool keeps_log = snapshot_keeps_log(snapshot, last_index(), term_at(snapshot.index()));
  std::string previous = std::exchange(snapshot_path_, path);
  snapshot_.set_index(snapshot.index());
  snapshot_.set_term(snapshot.term());
  if (keeps_log)
    compact_to(snapshot.index());
  else
    drop_log();
  if (!previous.empty() && previous != path)
    remove_file(previous); // a leftover would be deleted at open
  return true;
}

void file_log_store::append(const std::vector<pb::LogEntry>& entries) {
  uint64_t cut_from = check_append(entries, first_index_, last_index());
  // Serialize first: an entry too large to be a record must fail before anything is written.
  std::vector<std::string> payloads;
  payloads.reserve(entries.size());
  for (const auto& entry : entries) {
    payloads.push_back(entry.SerializeAsString());
    if (payloads.back().size() > record_file::max_record_bytes)
      throw std::logic_error(fmt::format("log entry {} is {} bytes, above the {} byte record "
                                         "limit; the proposer must bound entry sizes",
                                         entry.index(), payloads.back().size(),
                                         record_file::max_record_bytes));
  }
  if (cut_from <= last_index())
    cut_suffix(cut_from);
  for (size_t i = 0; i < entries.size(); ++i) {
    uint64_t record_bytes = record_file::header_bytes + payloads[i].size();
    if (tail_->size_bytes() > 0 && tail_->size_bytes() + record_bytes > config_.segment_bytes)
      start_segment(entries[i].index());
    uint64_t offset = tail_->size_bytes();
    tail_->append(payloads[i]);
    tail_dirty_ = true;
    terms_.push_back(entries[i].term());
    offsets_.push_back(offset);
  }
}

void file_log_store::set_hard_state(const pb::HardState& state) {
  hard_state_ = state;
}

void file_log_store::sync() {
  if (tail_dirty_) {
    tail_->sync();
    tail_dirty_ = false;
  }
  persist_hard_state();
}

void file_log_store::persist_hard_state() {
  std::string bytes = hard_state_.SerializeAsString();
  if (bytes == synced_hard_state_)
    return;
  std::string payload = meta_format_v1 + bytes;
  if (meta_->size_bytes() + record_file::header_bytes + payload.size()
      > config_.meta_compact_bytes) {
    file_util::write_file_atomically(meta_path_, record_file::encode(payload));
    std::vector<std::string> unused;
    meta_.emplace(record_file::open(meta_path_, &unused));
  } else {
    meta_->append(payload);
    meta_->sync();
  }
  synced_hard_state_ = std::move(bytes);
}

std::unique_ptr<log_store> make_file_log_store(const std::string& raft_dir) {
  return std::make_unique<file_log_store>(raft_dir);
}

} // namespace claud::storage
