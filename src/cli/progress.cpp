#include "cli/progress.hpp"

#include <unistd.h>

#include <algorithm>
#include <iostream>

#include <fmt/format.h>

#include "cli/terminal.hpp"

namespace claud::cli {

namespace {

/// A wait shorter than this shows no bar at all.
constexpr std::chrono::milliseconds quiet_start{1000};
constexpr std::chrono::milliseconds redraw_every{200};
constexpr int widest_bar = 40;
constexpr int narrowest_bar = 10;

} // namespace

std::string elapsed_text(std::chrono::milliseconds elapsed) {
  const auto ms = elapsed.count();
  if (ms < 60'000)
    return fmt::format("{:.1f}s", static_cast<double>(ms) / 1000.0);
  const auto seconds = ms / 1000;
  if (seconds < 3600)
    return fmt::format("{}m{:02}s", seconds / 60, seconds % 60);
  return fmt::format("{}h{:02}m", seconds / 3600, seconds / 60 % 60);
}

std::string progress_line(const std::string& job_id, const wait_progress& progress,
                          std::chrono::milliseconds elapsed, int width) {
  std::string line;
  if (progress.total == 1) {
    const char* doing = progress.ended > 0 ? "ended" : progress.running > 0 ? "running" : "pending";
    line = fmt::format("job {}: {}  {}", job_id, doing, elapsed_text(elapsed));
  } else {
    auto counts = fmt::format("{}/{} ended", progress.ended, progress.total);
    if (progress.unsuccessful > 0)
      counts += fmt::format(", {} failed", progress.unsuccessful);
    if (progress.running > 0)
      counts += fmt::format(", {} running", progress.running);
    counts += "  " + elapsed_text(elapsed);
    const int room = width - static_cast<int>(counts.size()) - 3;
    const int bar = std::min(widest_bar, room);
    if (bar >= narrowest_bar) {
      const auto filled
          = progress.total == 0 ? 0 : static_cast<int>(progress.ended * bar / progress.total);
      line = fmt::format("[{}{}] {}", std::string(static_cast<size_t>(filled), '#'),
                         std::string(static_cast<size_t>(bar - filled), '.'), counts);
    } else {
      line = counts;
    }
  }
  if (width > 0 && line.size() > static_cast<size_t>(width))
    line.resize(static_cast<size_t>(width));
  return line;
}

bool progress_bar::wanted(bool json) {
  return !json && is_terminal(STDOUT_FILENO) && is_terminal(STDERR_FILENO);
}

progress_bar::progress_bar(bool shown, std::string job_id) : job_id_(std::move(job_id)) {
  if (shown)
    drawer_ = std::thread{[this] { draw_until_done(); }};
}

progress_bar::~progress_bar() {
  {
    std::lock_guard lock{mutex_};
    done_ = true;
  }
  changed_.notify_all();
  if (drawer_.joinable())
    drawer_.join();
}

void progress_bar::update(const wait_progress& progress) {
  std::lock_guard lock{mutex_};
  progress_ = progress;
}

void progress_bar::draw_until_done() {
  std::unique_lock lock{mutex_};
  if (changed_.wait_until(lock, start_ + quiet_start, [this] { return done_; }))
    return;
  while (!done_) {
    const auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - start_);
    // The last column stays empty: a line that fills it wraps on some terminals.
    const int width = size_of_terminal(STDERR_FILENO).columns - 1;
    std::cerr << "\r" << progress_line(job_id_, progress_, elapsed, width) << "\x1b[K"
              << std::flush;
    drawn_ = true;
    changed_.wait_for(lock, redraw_every, [this] { return done_; });
  }
  if (drawn_)
    std::cerr << "\r\x1b[K" << std::flush;
}

} // namespace claud::cli
