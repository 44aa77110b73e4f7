#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "storage/log_store.hpp"
#include "storage/record_file.hpp"

namespace claud::storage {

/// Sizes of the file log store; the defaults are for production, tests shrink them.
struct file_log_store_config {
  /// A segment is closed and a new one started when the next record would grow it beyond this.
  uint64_t segment_bytes = 64u << 20;
  /// The meta file is rewritten as a single record when appending would grow it beyond this.
  uint64_t meta_compact_bytes = 1u << 20;
};

/// The production log_store, in DATA/raft (the layout is drawn in data_dir.hpp):
///
///  - log-<first index, 20 digits>.seg: record files (record_file.hpp), one serialized pb::LogEntry
///    per record, indices contiguous within and across segments. Only the last segment is written;
///    before a new one is created the previous one is fsync'd, so after a crash only the last
///    segment can have a torn tail.
///  - meta: a record file of hard states; the last valid record wins. Each record is the format
///    byte 0x01 followed by a serialized pb::HardState (the byte also keeps records non-empty while
///    the hard state is all defaults). Appending costs one fdatasync, where a rewrite costs two
///    fsyncs and a rename; the file is rewritten atomically (meta.tmp, fsync, rename, directory
///    fsync) only when it outgrows meta_compact_bytes. A leftover meta.tmp is deleted at open.
///  - snap-<index, 20 digits>.pb: the latest snapshot (snapshot_file.hpp), written atomically.
///    Only the newest is kept; an older one and a leftover snap-*.pb.tmp are deleted.
///
/// sync() fsyncs the last segment, then writes and fsyncs the hard state if it changed: the log
/// reaches the disk first, so a durable commit index never points past the durable log. A crash
/// between the two can leave the last entry's term above the durable hard state's term; open then
/// returns term = that entry's term and no vote, the state the node was in when it accepted the
/// entry (see reconcile_hard_state in the .cpp for why no vote can have been lost).
///
/// Removing a conflicting suffix deletes later segments (last first, then a directory fsync) and
/// truncates the segment holding the cut, and makes that durable at once: the rare cut must never
/// mix on disk with the records appended after it.
///
/// save_snapshot writes the snapshot file first; only then does it touch the log, so the entries
/// it drops are always covered by a durable snapshot. Compaction deletes the segments whose entries
/// are all covered, oldest first, so a crash leaves a contiguous log that still reaches the
/// snapshot; a segment straddling the snapshot's index stays, and open skips its covered entries.
/// Dropping the whole log deletes every segment (last first, so that a crash leaves a prefix of the
/// old log), fsyncs the directory and starts log-<snapshot index + 1>.seg.
///
/// Open reads the newest snapshot, recovers every segment, cuts a torn tail, checks that indices
/// are contiguous, that terms do not decrease, that the log reaches the snapshot and that the
/// commit index is in the log, and throws storage_error naming the file (and offset) otherwise. A
/// log that holds nothing after the snapshot, or that holds the snapshot's index with another term,
/// is what a save_snapshot interrupted before it dropped the log leaves: open completes the drop.
/// In memory the store keeps each entry's term and offset only: raft holds the entries, and
/// entries() reads them back from the segments (once, when the replica starts).
class file_log_store : public log_store {
public:
  explicit file_log_store(std::string raft_dir, file_log_store_config config = {});

  /// Read from the segments.
  std::vector<pb::LogEntry> entries() const override;
  pb::HardState hard_state() const override {
    return hard_state_;
  }
  /// Read from its file: the store keeps only its index and term in memory.
  pb::Snapshot snapshot() const override;
  void append(const std::vector<pb::LogEntry>& entries) override;
  void set_hard_state(const pb::HardState& state) override;
  void save_snapshot(const pb::Snapshot& snapshot) override;
  void stage_snapshot(const pb::Snapshot& snapshot) const override;
  bool adopt_snapshot(const pb::Snapshot& snapshot) override;
  void sync() override;
  uint64_t last_index() const override {
    return first_index_ + terms_.size() - 1;
  }
  uint64_t first_index() const override {
    return first_index_;
  }

  /// "log-00000000000000000042.seg" for 42.
  static std::string segment_file_name(uint64_t first_index);

private:
  struct segment {
    uint64_t first_index;
    std::string path;
  };

  std::string segment_path(uint64_t first_index) const;
  void recover_snapshot(const std::vector<std::string>& names);
  void recover_segments(const std::vector<std::string>& names);
  void recover_segment(const segment& seg, bool is_last);
  void skip_compacted_entries();
  void recover_meta();
  void reconcile_hard_state();
  void start_segment(uint64_t first_index);
  void cut_suffix(uint64_t index);
  void compact_to(uint64_t index);
  void drop_log();
  uint64_t term_at(uint64_t index) const;
  void persist_hard_state();

  std::string raft_dir_;
  std::string meta_path_;
  file_log_store_config config_;
  std::vector<segment> segments_; // ascending; the last one is tail_; the first may straddle the
                                  // snapshot's index
  std::optional<record_file> tail_;
  std::optional<record_file> meta_;
  pb::Snapshot snapshot_;         // index and term, without the data (in snapshot_path_)
  std::string snapshot_path_;     // empty when there is no snapshot
  uint64_t first_index_ = 1;      // snapshot_.index() + 1 once recovered
  std::vector<uint64_t> terms_;   // term of the entry at first_index_ + i
  std::vector<uint64_t> offsets_; // byte offset of that entry in its segment
  bool tail_dirty_ = false;       // appends to tail_ since its last fsync
  pb::HardState hard_state_;
  std::string synced_hard_state_; // serialized form of what meta holds
};

} // namespace claud::storage
