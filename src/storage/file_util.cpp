#include "storage/file_util.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <memory>
#include <system_error>

#include <fmt/format.h>

#include "os/unique_fd.hpp"
#include "storage/storage_error.hpp"

namespace claud::storage::file_util {

std::string errno_text(int err) {
  return std::error_code(err, std::generic_category()).message();
}

std::string advice_for(int err) {
  switch (err) {
  case ENOSPC:
  case EDQUOT:
    return "free disk space, then restart";
  case EACCES:
  case EPERM:
  case EROFS:
    return "check the permissions of the data dir, then restart";
  default:
    return "check the disk, then restart";
  }
}

void throw_io_error(std::string_view action, const std::string& path, int err) {
  throw storage_error(
      fmt::format("cannot {} {} ({}); {}", action, path, errno_text(err), advice_for(err)));
}

int make_dirs(const std::string& path) {
  if (path.empty())
    return ENOENT;
  // Walk the prefixes left to right; EEXIST is fine as long as what exists is a directory.
  for (size_t pos = path.find('/', 1);; pos = path.find('/', pos + 1)) {
    std::string prefix = path.substr(0, pos);
    if (!prefix.empty() && prefix.back() != '/' && ::mkdir(prefix.c_str(), 0755) != 0) {
      int err = errno;
      struct stat st {};
      if (err != EEXIST)
        return err;
      if (::stat(prefix.c_str(), &st) != 0)
        return errno;
      if (!S_ISDIR(st.st_mode))
        return ENOTDIR;
    }
    if (pos == std::string::npos)
      return 0;
  }
}

std::string parent_of(const std::string& path) {
  auto slash = path.find_last_of('/');
  if (slash == std::string::npos)
    return ".";
  if (slash == 0)
    return "/";
  return path.substr(0, slash);
}

void sync_dir(const std::string& dir) {
  unique_fd fd{::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)};
  if (!fd.valid())
    throw_io_error("open directory", dir, errno);
  if (::fsync(fd.get()) != 0)
    throw_io_error("fsync directory", dir, errno);
}

int write_all(int fd, const char* data, size_t size, off_t offset) {
  while (size > 0) {
    ssize_t n = ::pwrite(fd, data, size, offset);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      return errno;
    }
    data += n;
    size -= static_cast<size_t>(n);
    offset += n;
  }
  return 0;
}

int read_all(int fd, std::string* content) {
  content->clear();
  struct stat st {};
  if (::fstat(fd, &st) != 0)
    return errno;
  content->reserve(static_cast<size_t>(st.st_size));
  char buf[1 << 16];
  off_t offset = 0;
  for (;;) {
    ssize_t n = ::pread(fd, buf, sizeof buf, offset);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      return errno;
    }
    if (n == 0)
      return 0;
    content->append(buf, static_cast<size_t>(n));
    offset += n;
  }
}

bool read_file(const std::string& path, std::string* content) {
  unique_fd fd{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
  if (!fd.valid()) {
    if (errno == ENOENT)
      return false;
    throw_io_error("open", path, errno);
  }
  if (int err = read_all(fd.get(), content); err != 0)
    throw_io_error("read", path, err);
  return true;
}

std::vector<std::string> list_dir(const std::string& dir) {
  std::unique_ptr<DIR, int (*)(DIR*)> handle{::opendir(dir.c_str()), ::closedir};
  if (!handle)
    throw_io_error("list directory", dir, errno);
  std::vector<std::string> names;
  errno = 0;
  while (dirent* entry = ::readdir(handle.get())) {
    std::string name = entry->d_name;
    if (name != "." && name != "..")
      names.push_back(std::move(name));
  }
  if (errno != 0)
    throw_io_error("list directory", dir, errno);
  return names;
}

namespace {

constexpr size_t index_digits = 20; // UINT64_MAX has 20

} // namespace

std::string numbered_name(std::string_view prefix, uint64_t index, std::string_view suffix) {
  return fmt::format("{}{:0{}}{}", prefix, index, index_digits, suffix);
}

std::optional<uint64_t> parse_numbered_name(std::string_view name, std::string_view prefix,
                                            std::string_view suffix) {
  if (name.size() != prefix.size() + index_digits + suffix.size()
      || name.substr(0, prefix.size()) != prefix
      || name.substr(name.size() - suffix.size()) != suffix)
    return std::nullopt;
  uint64_t index = 0;
  for (char c : name.substr(prefix.size(), index_digits)) {
    if (c < '0' || c > '9')
      return std::nullopt;
    uint64_t digit = static_cast<uint64_t>(c - '0');
    if (index > (UINT64_MAX - digit) / 10)
      return std::nullopt;
    index = index * 10 + digit;
  }
  return index;
}

void write_file_atomically(const std::string& path, std::string_view content) {
  std::string tmp = path + ".tmp";
  {
    unique_fd fd{::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)};
    if (!fd.valid())
      throw_io_error("create", tmp, errno);
    if (int err = write_all(fd.get(), content.data(), content.size(), 0); err != 0)
      throw_io_error("write", tmp, err);
    if (::fsync(fd.get()) != 0)
      throw_io_error("fsync", tmp, errno);
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0)
    throw_io_error("rename a temporary file to", path, errno);
  sync_dir(parent_of(path));
}

} // namespace claud::storage::file_util
