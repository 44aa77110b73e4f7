#include "net/cluster_secret.hpp"

#include <fcntl.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "net/beacon_codec.hpp"
#include "os/unique_fd.hpp"

namespace claud::net {

std::string read_cluster_secret(const std::string& path) {
  unique_fd fd{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
  if (!fd.valid())
    throw secret_error(fmt::format("cannot read --secret-file {}: {}", path, std::strerror(errno)));
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode))
    throw secret_error(fmt::format("--secret-file {} is not a regular file", path));
  if ((st.st_mode & 077) != 0)
    throw secret_error(fmt::format("--secret-file {} may be read by others (mode {:04o}); run "
                                   "chmod 600 {}",
                                   path, st.st_mode & 07777, path));
  std::string secret(max_secret_bytes + 2, '\0');
  size_t size = 0;
  while (size < secret.size()) { // bounded: never more than max_secret_bytes + 2 read
    auto got = ::read(fd.get(), secret.data() + size, secret.size() - size);
    if (got < 0 && errno == EINTR)
      continue;
    if (got < 0)
      throw secret_error(
          fmt::format("cannot read --secret-file {}: {}", path, std::strerror(errno)));
    if (got == 0)
      break;
    size += static_cast<size_t>(got);
  }
  secret.resize(size);
  if (!secret.empty() && secret.back() == '\n')
    secret.pop_back();
  if (secret.size() < min_secret_bytes || secret.size() > max_secret_bytes)
    throw secret_error(fmt::format(
        "--secret-file {} holds {} bytes; a secret is {} to {} bytes "
        "(`claud tls secret` makes one)",
        path, secret.size() > max_secret_bytes ? "too many" : std::to_string(secret.size()),
        min_secret_bytes, max_secret_bytes));
  return secret;
}

void make_cluster_secret(const std::string& path) {
  unsigned char random[32];
  if (RAND_bytes(random, sizeof random) != 1)
    throw secret_error("cannot draw random bytes for the secret");
  std::string text;
  for (unsigned char byte : random)
    text += fmt::format("{:02x}", byte);
  text += '\n';
  unique_fd fd{::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)};
  if (!fd.valid())
    throw secret_error(fmt::format("cannot create {}: {}{}", path, std::strerror(errno),
                                   errno == EEXIST ? " (a secret is never overwritten)" : ""));
  if (::write(fd.get(), text.data(), text.size()) != static_cast<ssize_t>(text.size())
      || ::fsync(fd.get()) != 0)
    throw secret_error(fmt::format("cannot write {}: {}", path, std::strerror(errno)));
}

} // namespace claud::net
