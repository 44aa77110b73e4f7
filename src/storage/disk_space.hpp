#pragma once
// How much room a slave's data dir has left: job output goes there, and a full disk would make the
// slave fail every job's output (and its started-attempts journal, so every start).

#include <cstdint>
#include <string>

namespace claud::storage {

/// "" while the file system holding `path` has at least `min_free_bytes` available (statvfs
/// f_bavail), else one line for the operator saying how much is left (or why it cannot be read).
std::string low_disk_note(const std::string& path, uint64_t min_free_bytes);

} // namespace claud::storage
