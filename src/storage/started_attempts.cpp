#include "storage/started_attempts.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <string_view>

#include <fmt/format.h>

#include "storage/file_util.hpp"
#include "storage/storage_error.hpp"

namespace claud::storage {

namespace {

/// Rewrites the file once it holds this many lines and twice as many as the attempts it still
/// needs: each rewrite is then paid for by at least as many appends as it keeps.
constexpr size_t rewrite_min_lines = 1024;

/// Starts a line that forgets the attempt it names.
constexpr char forgotten_mark = '-';

std::string line_of(const std::string& job_id, uint32_t attempt) {
  return fmt::format("{} {}\n", job_id, attempt);
}

} // namespace

started_attempts::started_attempts(std::string path) : path_(std::move(path)) {
  std::string content;
  if (file_util::read_file(path_, &content)) {
    std::string_view rest{content};
    while (!rest.empty()) {
      auto end = rest.find('\n');
      if (end == std::string_view::npos)
        break; // a last line without its newline was torn by a crash
      auto line = rest.substr(0, end);
      rest.remove_prefix(end + 1);
      ++lines_in_file_;
      const bool forgotten = !line.empty() && line.front() == forgotten_mark;
      if (forgotten)
        line.remove_prefix(1);
      auto space = line.find(' ');
      uint32_t attempt = 0;
      if (space == std::string_view::npos || space == 0)
        continue;
      auto number = line.substr(space + 1);
      auto [ptr, ec] = std::from_chars(number.data(), number.data() + number.size(), attempt);
      if (ec != std::errc{} || ptr != number.data() + number.size())
        continue;
      std::pair<std::string, uint32_t> key{std::string{line.substr(0, space)}, attempt};
      if (forgotten)
        attempts_.erase(key);
      else
        attempts_.insert(std::move(key));
    }
    // Appends must start on a line of their own, or the next one would be glued to the torn one.
    if (!content.empty() && content.back() != '\n') {
      auto whole_lines = content.rfind('\n');
      auto keep = whole_lines == std::string::npos ? 0 : whole_lines + 1;
      if (::truncate(path_.c_str(), static_cast<off_t>(keep)) != 0)
        file_util::throw_io_error("truncate", path_, errno);
    }
  }
  open_for_append();
}

void started_attempts::open_for_append() {
  file_.reset(::open(path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644));
  if (!file_.valid())
    file_util::throw_io_error("open", path_, errno);
}

bool started_attempts::contains(const std::string& job_id, uint32_t attempt) const {
  return attempts_.count({job_id, attempt}) > 0;
}

void started_attempts::record(const std::string& job_id, uint32_t attempt) {
  append(line_of(job_id, attempt));
  attempts_.emplace(job_id, attempt);
}

void started_attempts::append(const std::string& line) {
  if (!file_.valid())
    open_for_append(); // a rewrite renamed the file but could not reopen it
  // O_APPEND: one write is one whole line (the constructor cut off any torn one).
  ssize_t written;
  do {
    written = ::write(file_.get(), line.data(), line.size());
  } while (written < 0 && errno == EINTR);
  if (written != static_cast<ssize_t>(line.size())) {
    int err = written < 0 ? errno : ENOSPC;
    // A part of the line (a full disk) is cut off again, so the next append starts a line.
    struct stat info;
    if (written > 0 && ::fstat(file_.get(), &info) == 0)
      (void) ::ftruncate(file_.get(), info.st_size - written);
    file_util::throw_io_error("write", path_, err);
  }
  ++lines_in_file_;
}

void started_attempts::forget(const std::string& job_id, uint32_t attempt) {
  if (attempts_.erase({job_id, attempt}) == 0)
    return;
  // Written down too, or a restarted slave would load the attempt again and keep it for good.
  try {
    append(forgotten_mark + line_of(job_id, attempt));
  } catch (const storage_error&) {
    // Kept in the file: at worst a restarted slave refuses a start the leader never repeats.
  }
  if (lines_in_file_ >= rewrite_min_lines && lines_in_file_ >= 2 * attempts_.size())
    rewrite();
}

void started_attempts::rewrite() {
  std::string content;
  for (const auto& [job_id, attempt] : attempts_)
    content += line_of(job_id, attempt);
  try {
    file_util::write_file_atomically(path_, content);
    lines_in_file_ = attempts_.size();
    open_for_append();
  } catch (const storage_error&) {
    // Not renamed: the old file still holds every attempt needed, and the next rewrite tries
    // again. Renamed but not reopened: the next append opens it again.
  }
}

} // namespace claud::storage
