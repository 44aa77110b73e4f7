#include "proc/job_identity.hpp"

#include <grp.h>
#include <pwd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include <fmt/format.h>

namespace claud::proc {

namespace {

/// The password entry of `name` (getpwnam_r, with a buffer that grows as it asks).
std::optional<job_identity> look_up(const std::string& name) {
  std::vector<char> buffer(1024);
  passwd entry{};
  passwd* found = nullptr;
  int err = 0;
  while ((err = ::getpwnam_r(name.c_str(), &entry, buffer.data(), buffer.size(), &found)) == ERANGE
         && buffer.size() < (1u << 20))
    buffer.resize(buffer.size() * 2);
  if (err != 0)
    throw std::invalid_argument(
        fmt::format("cannot look up user '{}': {}", name, std::strerror(err)));
  if (found == nullptr)
    return std::nullopt;
  job_identity identity;
  identity.user = entry.pw_name;
  identity.uid = entry.pw_uid;
  identity.gid = entry.pw_gid;
  identity.home = entry.pw_dir;
  int count = 16;
  identity.groups.resize(static_cast<size_t>(count));
  while (::getgrouplist(entry.pw_name, entry.pw_gid, identity.groups.data(), &count) < 0)
    identity.groups.resize(static_cast<size_t>(count)); // count is now the number needed
  identity.groups.resize(static_cast<size_t>(count));
  return identity;
}

} // namespace

std::string current_user_name() {
  std::vector<char> buffer(16384);
  passwd entry{};
  passwd* found = nullptr;
  if (::getpwuid_r(::geteuid(), &entry, buffer.data(), buffer.size(), &found) == 0
      && found != nullptr)
    return entry.pw_name;
  return std::to_string(::geteuid());
}

std::optional<job_identity> resolve_job_identity(const std::string& requested) {
  if (::geteuid() != 0) {
    if (requested.empty() || requested == current_user_name())
      return std::nullopt;
    throw std::invalid_argument(fmt::format(
        "--run-as {} needs a slave started as root (it runs as {}); start it as root, or drop "
        "--run-as to run jobs as {}",
        requested, current_user_name(), current_user_name()));
  }
  const std::string name = requested.empty() ? "nobody" : requested;
  auto identity = look_up(name);
  if (!identity)
    throw std::invalid_argument(
        requested.empty()
            ? "a slave started as root runs jobs as nobody, but this machine has no user nobody; "
              "give --run-as USER"
            : fmt::format("--run-as {}: no such user on this machine", requested));
  return identity;
}

std::map<std::string, job_identity> resolve_allowed_users(const std::vector<std::string>& allowed) {
  std::map<std::string, job_identity> out;
  for (const auto& name : allowed) {
    if (::geteuid() != 0) {
      if (name == current_user_name())
        continue; // its own jobs run as that user already
      throw std::invalid_argument(fmt::format(
          "--allow-users {} needs a slave started as root (it runs as {} and cannot switch to "
          "another user); start it as root, or drop {} from --allow-users",
          name, current_user_name(), name));
    }
    auto identity = look_up(name);
    if (!identity)
      throw std::invalid_argument(
          fmt::format("--allow-users {}: no such user on this machine", name));
    out.emplace(name, std::move(*identity));
  }
  return out;
}

} // namespace claud::proc
