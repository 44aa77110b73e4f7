#pragma once

#include <cstdint>
#include <string>

#include "os/unique_fd.hpp"

namespace claud::storage {

// The data dir: everything a claud process keeps across restarts, under --data-dir (DATA):
//
//   DATA/
//   ├── node-id      this node's id and a newline, written once, durably; the dir belongs to it
//   ├── incarnation  a random non-zero number (decimal) and a newline, written once: tells this
//   │                node from another process that claims its id with another data dir
//   ├── lock         flock'd by the one process using the dir; holds its pid for the error the
//   │                next process prints. Never deleted: unlinking a lock file would let two
//   │                processes lock two different inodes of the same name.
//   ├── raft/        masters only (file_log_store.hpp)
//   │   ├── meta     record file of hard states (term, vote, commit); the last one wins
//   │   ├── log-<first index, 20 digits zero-padded>.seg
//   │   │            record file of log entries, <= 64 MiB each, indices contiguous
//   │   │            (the first one may start at or below the snapshot's index)
//   │   └── snap-<index, 20 digits zero-padded>.pb
//   │                the newest snapshot: one record holding a pb::Snapshot (the state machine
//   │                up to that index); the log continues right after it
//   └── jobs/        slaves only (src/proc)
//       └── <job>.<attempt>.stdout, <job>.<attempt>.stderr
//                    the output of one run of one job (flat: no directory per job to make)
//
// Every durable record (raft/meta, raft/log-*.seg, raft/snap-*.pb) carries a length and a CRC-32C
// (record_file.hpp): a torn tail is cut on recovery, any other corruption stops the node with an
// error naming the file and the offset. Never lose, never guess. Files that must change atomically
// (node-id, a compacted meta, a snapshot) are written to <name>.tmp, fsync'd, renamed and the
// directory fsync'd.

/// An open data dir, holding its lock until destroyed or moved from. Errors are storage_error with
/// a one-line message that tells the user what to do.
class data_dir {
public:
  /// Creates the directory (and its parents) if missing, checks that it is writable and takes
  /// DATA/lock with flock(LOCK_EX | LOCK_NB), writing our pid into it. flock belongs to the open
  /// file description, so even a second open in the same process fails.
  static data_dir open(const std::string& path);

  data_dir(data_dir&& other) noexcept = default;
  data_dir& operator=(data_dir&& other) noexcept = default;
  data_dir(const data_dir&) = delete;
  data_dir& operator=(const data_dir&) = delete;
  ~data_dir() = default; // closing the lock fd releases the lock

  const std::string& path() const {
    return path_;
  }

  /// The node's id, kept in DATA/node-id. When the file exists its id is returned, and a non-empty
  /// `wanted` must equal it. Otherwise `wanted` is stored, or when it is empty a generated
  /// "<hostname>-<8 random hex digits>". Ids are 1..64 characters of [A-Za-z0-9._-].
  std::string node_id(const std::string& wanted);

  /// This data dir's incarnation, kept in DATA/incarnation (made at the first call): the same for
  /// every run of the node, different for another data dir given the same --node-id.
  uint64_t incarnation();

  /// Creates (mkdir -p) and returns DATA/<relative>. `relative` must be a relative path without
  /// ".." (std::invalid_argument otherwise: the caller, not the user, chose it).
  std::string subdir(const std::string& relative) const;

  /// Whether `id` is a valid node id (see node_id).
  static bool valid_node_id(const std::string& id);

private:
  data_dir(std::string path, unique_fd lock_fd);

  std::string path_;
  unique_fd lock_fd_;
};

} // namespace claud::storage
