#include "storage/data_dir.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <random>
#include <stdexcept>

#include <fmt/format.h>

#include "storage/file_util.hpp"
#include "storage/storage_error.hpp"

namespace claud::storage {

namespace {

constexpr size_t max_node_id_chars = 64;
constexpr size_t random_suffix_chars = 9; // "-" and 8 hex digits

bool valid_id_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.'
         || c == '_' || c == '-';
}

bool permission_error(int err) {
  return err == EACCES || err == EPERM || err == EROFS;
}

[[noreturn]] void throw_unusable(const std::string& path, int err) {
  if (permission_error(err))
    throw storage_error(fmt::format("data dir {} is not writable ({}); choose another --data-dir",
                                    path, file_util::errno_text(err)));
  throw storage_error(fmt::format("data dir {} cannot be used ({}); choose another --data-dir",
                                  path, file_util::errno_text(err)));
}

// The pid the lock holder wrote, or "unknown" while it has not written it yet.
std::string lock_holder(int fd) {
  std::string content;
  if (file_util::read_all(fd, &content) != 0)
    return "unknown";
  while (!content.empty() && (content.back() == '\n' || content.back() == ' '))
    content.pop_back();
  if (content.empty() || content.find_first_not_of("0123456789") != std::string::npos)
    return "unknown";
  return content;
}

std::string generated_node_id() {
  char host[256] = {};
  std::string base;
  if (::gethostname(host, sizeof host - 1) == 0)
    base = host;
  // Hostnames may hold characters ids may not; the id only has to be unique and readable.
  for (char& c : base)
    if (!valid_id_char(c))
      c = '-';
  if (base.size() > max_node_id_chars - random_suffix_chars)
    base.resize(max_node_id_chars - random_suffix_chars);
  if (base.empty())
    base = "node";
  std::random_device random;
  return fmt::format("{}-{:08x}", base, static_cast<uint32_t>(random()));
}

} // namespace

data_dir::data_dir(std::string path, unique_fd lock_fd)
    : path_(std::move(path)), lock_fd_(std::move(lock_fd)) {
  // nop
}

data_dir data_dir::open(const std::string& path) {
  if (path.empty())
    throw storage_error("the data dir path is empty; pass --data-dir");
  std::string dir = path;
  while (dir.size() > 1 && dir.back() == '/')
    dir.pop_back();
  if (int err = file_util::make_dirs(dir); err != 0)
    throw_unusable(dir, err);
  // As root, access() says yes to anything but a read-only file system; creating the lock file
  // below is the real test then.
  if (::access(dir.c_str(), W_OK | X_OK) != 0)
    throw_unusable(dir, errno);
  std::string lock_path = dir + "/lock";
  unique_fd fd{::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644)};
  if (!fd.valid())
    throw_unusable(dir, errno);
  int rc;
  do {
    rc = ::flock(fd.get(), LOCK_EX | LOCK_NB);
  } while (rc != 0 && errno == EINTR);
  if (rc != 0) {
    if (errno == EWOULDBLOCK)
      throw storage_error(fmt::format("data dir {} is already used by another running claud (pid "
                                      "{}); stop it or choose another --data-dir",
                                      dir, lock_holder(fd.get())));
    throw storage_error(fmt::format("cannot lock {} ({}); put --data-dir on a local file system",
                                    lock_path, file_util::errno_text(errno)));
  }
  std::string pid = fmt::format("{}\n", ::getpid());
  if (::ftruncate(fd.get(), 0) != 0)
    file_util::throw_io_error("write", lock_path, errno);
  if (int err = file_util::write_all(fd.get(), pid.data(), pid.size(), 0); err != 0)
    file_util::throw_io_error("write", lock_path, err);
  return data_dir(std::move(dir), std::move(fd));
}

bool data_dir::valid_node_id(const std::string& id) {
  if (id.empty() || id.size() > max_node_id_chars)
    return false;
  for (char c : id)
    if (!valid_id_char(c))
      return false;
  return true;
}

std::string data_dir::node_id(const std::string& wanted) {
  if (!wanted.empty() && !valid_node_id(wanted))
    throw storage_error(fmt::format("node id '{}' is invalid; use 1..64 characters of A-Z a-z 0-9 "
                                    ". _ - in --node-id",
                                    wanted.substr(0, max_node_id_chars + 1)));
  std::string file = path_ + "/node-id";
  std::string stored;
  if (file_util::read_file(file, &stored)) {
    while (!stored.empty() && (stored.back() == '\n' || stored.back() == '\r'))
      stored.pop_back();
    if (!valid_node_id(stored))
      throw storage_error(fmt::format("{} does not hold a valid node id (1..64 characters of "
                                      "A-Z a-z 0-9 . _ -); fix or remove that file",
                                      file));
    if (!wanted.empty() && wanted != stored)
      throw storage_error(fmt::format("data dir {} belongs to node {}, not {}; pass --node-id={} "
                                      "or choose another --data-dir",
                                      path_, stored, wanted, stored));
    return stored;
  }
  std::string id = wanted.empty() ? generated_node_id() : wanted;
  file_util::write_file_atomically(file, id + "\n");
  return id;
}

uint64_t data_dir::incarnation() {
  std::string file = path_ + "/incarnation";
  std::string stored;
  if (file_util::read_file(file, &stored)) {
    uint64_t value = 0;
    size_t used = 0;
    try {
      value = std::stoull(stored, &used);
    } catch (const std::logic_error&) { // not a number, or out of range
    }
    if (value == 0 || stored.find_first_not_of("0123456789\n", 0) != std::string::npos)
      throw storage_error(fmt::format("{} does not hold an incarnation (a number other than 0); "
                                      "remove that file, and the node gets a new one",
                                      file));
    return value;
  }
  std::random_device random;
  uint64_t value = 0;
  while (value == 0)
    value = (uint64_t{random()} << 32) | random();
  file_util::write_file_atomically(file, std::to_string(value) + "\n");
  return value;
}

std::string data_dir::subdir(const std::string& relative) const {
  bool climbs = relative == ".." || relative.compare(0, 3, "../") == 0
                || relative.find("/../") != std::string::npos
                || (relative.size() >= 3 && relative.compare(relative.size() - 3, 3, "/..") == 0);
  if (relative.empty() || relative.front() == '/' || climbs)
    throw std::invalid_argument(
        fmt::format("data dir subdirectory '{}' must be a relative path inside it", relative));
  std::string dir = path_ + "/" + relative;
  if (int err = file_util::make_dirs(dir); err != 0)
    throw storage_error(fmt::format("cannot create directory {} ({}); {}", dir,
                                    file_util::errno_text(err), file_util::advice_for(err)));
  return dir;
}

} // namespace claud::storage
