#include "storage/disk_space.hpp"

#include <fcntl.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>

#include <fmt/format.h>

#include "storage/file_util.hpp"

namespace claud::storage {

namespace {

/// "" once a probe file was written, synced and removed in `dir`, else why not.
std::string write_problem(const std::string& dir) {
  const auto probe = dir + "/.health-probe";
  int fd = ::open(probe.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0)
    return file_util::errno_text(errno);
  std::string problem;
  if (::write(fd, "ok\n", 3) != 3 || ::fsync(fd) != 0)
    problem = file_util::errno_text(errno);
  ::close(fd);
  if (::unlink(probe.c_str()) != 0 && problem.empty())
    problem = file_util::errno_text(errno);
  return problem;
}

} // namespace

data_dir_health check_data_dir(const std::string& dir, uint64_t min_free_bytes) {
  data_dir_health out;
  if (auto problem = write_problem(dir); !problem.empty()) {
    out.problem = fmt::format("data dir {} is not writable ({}); nothing can be stored there", dir,
                              problem);
    return out;
  }
  out.writable = true;
  struct statvfs fs {};
  if (::statvfs(dir.c_str(), &fs) != 0) {
    out.problem
        = fmt::format("cannot read the free space of {} ({})", dir, file_util::errno_text(errno));
    return out;
  }
  out.free_bytes = static_cast<uint64_t>(fs.f_bavail) * fs.f_frsize;
  if (out.free_bytes >= min_free_bytes)
    return out;
  constexpr double gib = 1024.0 * 1024 * 1024;
  const auto total_bytes = static_cast<uint64_t>(fs.f_blocks) * fs.f_frsize;
  out.problem = fmt::format("data dir nearly full: {:.1f} GiB free of {:.1f} GiB, below "
                            "--min-free-disk {:.1f} GiB; writes there may fail",
                            out.free_bytes / gib, total_bytes / gib, min_free_bytes / gib);
  return out;
}

} // namespace claud::storage
