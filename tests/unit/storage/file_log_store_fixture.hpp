#pragma once
// Helpers shared by the file_log_store tests: a small segment size, and the files in a raft dir.

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include "entries.hpp"
#include "storage/file_log_store.hpp"
#include "storage/storage_error.hpp"

namespace claud::storage::test {

// About four entries per segment, so rotation happens within a few appends.
inline const file_log_store_config small{200, 1u << 20};

inline std::vector<std::string> files_starting(const std::string& dir, const std::string& prefix) {
  std::vector<std::string> names;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    std::string name = e.path().filename().string();
    if (name.compare(0, prefix.size(), prefix) == 0)
      names.push_back(name);
  }
  std::sort(names.begin(), names.end());
  return names;
}

inline std::vector<std::string> segment_files(const std::string& dir) {
  return files_starting(dir, "log-");
}

inline std::vector<std::string> snapshot_files(const std::string& dir) {
  return files_starting(dir, "snap-");
}

inline uint64_t first_index_of(const std::string& segment_name) {
  return std::stoull(segment_name.substr(4, 20));
}

inline std::string open_error(const std::string& dir) {
  try {
    file_log_store store(dir, small);
  } catch (const storage_error& e) {
    return e.what();
  }
  return "";
}

inline std::vector<claud::pb::LogEntry> concat(std::vector<claud::pb::LogEntry> a,
                                               const std::vector<claud::pb::LogEntry>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

} // namespace claud::storage::test
