#pragma once
// Whether a node's data dir can take what the node must write there: a slave keeps job output and
// its started-attempts journal in it, a master its raft log. A full, read-only or vanished dir
// would fail every job's output or every write, so the node says so (`claud nodes`, `claud
// leader`) instead of failing silently.

#include <cstdint>
#include <string>

namespace claud::storage {

struct data_dir_health {
  bool writable = false;   // a file could be made, written, synced and removed there
  uint64_t free_bytes = 0; // available to this process (statvfs f_bavail); 0 if unreadable
  std::string problem;     // one line for the operator; "" when writable with room to spare
};

/// Checks `dir`: writes and removes a small probe file there, and reads its file system's free
/// space against `min_free_bytes`. Blocks for one small fsync.
data_dir_health check_data_dir(const std::string& dir, uint64_t min_free_bytes);

} // namespace claud::storage
