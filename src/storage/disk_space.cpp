#include "storage/disk_space.hpp"

#include <sys/statvfs.h>

#include <cerrno>

#include <fmt/format.h>

#include "storage/file_util.hpp"

namespace claud::storage {

std::string low_disk_note(const std::string& path, uint64_t min_free_bytes) {
  struct statvfs fs {};
  if (::statvfs(path.c_str(), &fs) != 0)
    return fmt::format("cannot read the free space of {} ({})", path, file_util::errno_text(errno));
  const auto free_bytes = static_cast<uint64_t>(fs.f_bavail) * fs.f_frsize;
  const auto total_bytes = static_cast<uint64_t>(fs.f_blocks) * fs.f_frsize;
  if (free_bytes >= min_free_bytes)
    return "";
  constexpr double gib = 1024.0 * 1024 * 1024;
  return fmt::format("data dir nearly full: {:.1f} GiB free of {:.1f} GiB, below "
                     "--min-free-disk {:.1f} GiB; job output may fail to be stored",
                     free_bytes / gib, total_bytes / gib, min_free_bytes / gib);
}

} // namespace claud::storage
