#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <utility>

#include "os/unique_fd.hpp"

namespace claud::storage {

/// The job attempts a slave has started and the leader may not know of yet, in one file of lines
/// "<job> <attempt>", each appended before its process is spawned, and "-<job> <attempt>" once
/// forgotten. A slave killed (SIGKILL, a
/// crash) between starting a job and reporting it finds the attempt here when it runs again and
/// the leader repeats the start: it refuses, so the job never runs twice by accident.
///
/// An attempt is forgotten once the leader has committed a report of it (it then never asks for
/// it again). The file is rewritten with only the attempts still needed when forgotten ones are
/// most of it, so it stays about as small as the attempts in flight; what a killed slave had in
/// flight stays until the leader's repeated start is refused and that is committed. Appends are not
/// fsync'd: they guard against the slave process dying, and a machine that crashes takes its jobs
/// with it.
class started_attempts {
public:
  /// Loads `path` (none started when it does not exist) and opens it for appending. Throws
  /// storage_error when it cannot be read or written. Lines that do not parse (a torn write) are
  /// skipped.
  explicit started_attempts(std::string path);

  bool contains(const std::string& job_id, uint32_t attempt) const;

  /// Records a start. Throws storage_error when the line cannot be written: the job must not
  /// start then.
  void record(const std::string& job_id, uint32_t attempt);

  /// Forgets an attempt the leader knows about; one it does not hold is ignored.
  void forget(const std::string& job_id, uint32_t attempt);

  size_t size() const {
    return attempts_.size();
  }

private:
  void open_for_append();
  void append(const std::string& line);
  void rewrite();

  std::string path_;
  std::set<std::pair<std::string, uint32_t>> attempts_;
  size_t lines_in_file_ = 0;
  unique_fd file_;
};

} // namespace claud::storage
