#include "proc/cgroup_paths.hpp"

#include <sstream>
#include <vector>

namespace claud::proc {

namespace {

std::vector<std::string> split(const std::string& text, char separator) {
  std::vector<std::string> parts;
  std::string part;
  std::istringstream in{text};
  while (std::getline(in, part, separator))
    parts.push_back(part);
  if (!text.empty() && text.back() == separator)
    parts.emplace_back();
  return parts;
}

/// mountinfo writes space, tab, newline and backslash in paths as \ooo (octal).
std::string unescape_octal(const std::string& field) {
  std::string out;
  for (size_t i = 0; i < field.size(); ++i) {
    if (field[i] == '\\' && i + 3 < field.size()) {
      auto digits = field.substr(i + 1, 3);
      if (digits.find_first_not_of("01234567") == std::string::npos) {
        out += static_cast<char>(std::stoi(digits, nullptr, 8));
        i += 3;
        continue;
      }
    }
    out += field[i];
  }
  return out;
}

struct mount {
  std::string root;        // the path inside the hierarchy that the mount point shows
  std::string mount_point; // where it is mounted
  std::vector<std::string> super_options;
};

/// The cgroup mounts of `mountinfo` by file system type ("cgroup" or "cgroup2").
std::multimap<std::string, mount> cgroup_mounts(const std::string& mountinfo) {
  std::multimap<std::string, mount> mounts;
  std::istringstream lines{mountinfo};
  std::string line;
  while (std::getline(lines, line)) {
    std::istringstream in{line};
    std::vector<std::string> fields;
    for (std::string field; in >> field;)
      fields.push_back(field);
    size_t dash = 6;
    while (dash < fields.size() && fields[dash] != "-")
      ++dash;
    if (dash + 3 >= fields.size())
      continue;
    const auto& type = fields[dash + 1];
    if (type != "cgroup" && type != "cgroup2")
      continue;
    mounts.emplace(type, mount{unescape_octal(fields[3]), unescape_octal(fields[4]),
                               split(fields[dash + 3], ',')});
  }
  return mounts;
}

/// The directory showing `path` (a cgroup path from /proc/self/cgroup) under `where`, or empty
/// when `path` is not below the mount's root.
std::string dir_of(const mount& where, const std::string& path) {
  const auto& root = where.root;
  if (root == "/")
    return path == "/" ? where.mount_point : where.mount_point + path;
  if (path == root)
    return where.mount_point;
  if (path.compare(0, root.size(), root) == 0 && path.size() > root.size()
      && path[root.size()] == '/')
    return where.mount_point + path.substr(root.size());
  return {};
}

bool carries(const mount& where, const std::string& controller) {
  for (const auto& option : where.super_options)
    if (option == controller)
      return true;
  return false;
}

} // namespace

cgroup_dirs find_cgroup_dirs(const std::string& proc_self_cgroup, const std::string& mountinfo) {
  auto mounts = cgroup_mounts(mountinfo);
  cgroup_dirs dirs;
  std::istringstream lines{proc_self_cgroup};
  std::string line;
  while (std::getline(lines, line)) {
    auto first = line.find(':');
    auto second = first == std::string::npos ? first : line.find(':', first + 1);
    if (second == std::string::npos)
      continue;
    auto controllers = line.substr(first + 1, second - first - 1);
    auto path = line.substr(second + 1);
    if (path.empty() || path.front() != '/')
      continue;
    if (line.compare(0, first, "0") == 0 && controllers.empty()) {
      auto v2 = mounts.equal_range("cgroup2");
      for (auto i = v2.first; i != v2.second && dirs.v2.empty(); ++i)
        dirs.v2 = dir_of(i->second, path);
      continue;
    }
    auto v1 = mounts.equal_range("cgroup");
    for (const auto& controller : split(controllers, ',')) {
      for (auto i = v1.first; i != v1.second; ++i) {
        if (!carries(i->second, controller))
          continue;
        if (auto dir = dir_of(i->second, path); !dir.empty()) {
          dirs.v1[controller] = dir;
          break;
        }
      }
    }
  }
  return dirs;
}

} // namespace claud::proc
