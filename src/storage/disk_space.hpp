#pragma once
// How much room a slave's data dir has left: job output goes there, and a full disk would make the
// slave fail every job's output (and its started-attempts journal, so every start).

#include <cstdint>
#include <string>

namespace claud::storage {

struct disk_space {
  uint64_t free_bytes = 0; // available to this process (statvfs f_bavail)
  uint64_t total_bytes = 0;
};

/// The space of the file system holding `path`; throws storage_error when it cannot be read.
disk_space space_of(const std::string& path);

} // namespace claud::storage
