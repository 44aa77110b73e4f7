#pragma once
// The progress bar of a wait that lasts (submit --wait, wait, run --wait): drawn on stderr, on a
// terminal only, after the first second, and gone when the wait ends.

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

#include "claud/client.hpp"

namespace claud::cli {

/// The bar's one line, at most `width` columns: for one job "job 12: running  4.2s", for many
/// "[######......] 7/20 ended, 1 failed, 3 running  12.4s".
std::string progress_line(const std::string& job_id, const wait_progress& progress,
                          std::chrono::milliseconds elapsed, int width);

/// "0.4s", "12.4s", "3m05s", "2h10m".
std::string elapsed_text(std::chrono::milliseconds elapsed);

/// Draws a wait's progress while it lives, five times a second so that the time moves on, on
/// stderr when `shown` (the caller's --json and whether stdout and stderr are terminals decide).
class progress_bar {
public:
  /// `job_id` names the job of a wait for one.
  progress_bar(bool shown, std::string job_id);
  /// Erases the bar.
  ~progress_bar();
  progress_bar(const progress_bar&) = delete;
  progress_bar& operator=(const progress_bar&) = delete;

  void update(const wait_progress& progress);

  /// Whether a bar belongs on this terminal: not with --json, and only when stdout and stderr are
  /// both terminals (a piped stdout is a script's).
  static bool wanted(bool json);

private:
  void draw_until_done();

  const std::string job_id_;
  const std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
  std::mutex mutex_;
  std::condition_variable changed_;
  wait_progress progress_;
  bool done_ = false;
  bool drawn_ = false;
  std::thread drawer_;
};

} // namespace claud::cli
