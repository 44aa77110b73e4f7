#include "storage/disk_space.hpp"

#include <sys/statvfs.h>

#include <cerrno>

#include <fmt/format.h>

#include "storage/file_util.hpp"
#include "storage/storage_error.hpp"

namespace claud::storage {

disk_space space_of(const std::string& path) {
  struct statvfs fs {};
  if (::statvfs(path.c_str(), &fs) != 0)
    throw storage_error(
        fmt::format("cannot read the free space of {} ({})", path, file_util::errno_text(errno)));
  return {static_cast<uint64_t>(fs.f_bavail) * fs.f_frsize,
          static_cast<uint64_t>(fs.f_blocks) * fs.f_frsize};
}

} // namespace claud::storage
