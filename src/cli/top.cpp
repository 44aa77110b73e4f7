#include "cli/top.hpp"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <exception>
#include <mutex>
#include <stdexcept>
#include <thread>

#include "cli/cluster_board.hpp"
#include "cli/terminal.hpp"

namespace claud::cli {

namespace {

using std::chrono::milliseconds;

/// How long a key may wait to be noticed, and the screen to follow a change.
constexpr milliseconds key_poll{100};
/// The ages on the screen move on by themselves: it is redrawn this often without a change.
constexpr milliseconds idle_redraw{1000};
/// The nodes' resources are read again after events at most this often (a busy cluster changes
/// them with every placement).
constexpr milliseconds nodes_reread{250};

int64_t now_ms() {
  return std::chrono::duration_cast<milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

/// What draws `lines` over the screen from its top left, each line's rest and the lines below
/// erased: one write, so that the screen never shows half a frame. No more lines than `rows`
/// (one more would scroll it).
std::string frame_of(std::vector<std::string> lines, int rows) {
  lines.resize(std::min(lines.size(), static_cast<size_t>(std::max(rows, 1))));
  std::string frame = "\x1b[H";
  for (size_t i = 0; i < lines.size(); ++i)
    frame += lines[i] + "\x1b[K" + (i + 1 < lines.size() ? "\r\n" : "");
  return frame + "\x1b[J";
}

void draw(const std::string& frame) {
  for (size_t written = 0; written < frame.size();) {
    auto n = ::write(STDOUT_FILENO, frame.data() + written, frame.size() - written);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return;
    written += static_cast<size_t>(n);
  }
}

/// What the stream (main thread) and the screen (its own thread) share.
struct shared_view {
  std::mutex mutex;
  cluster_board board;
  bool changed = true;
  bool nodes_stale = true;
};

/// Draws the screen until a key (then it stops the stream) or `stopping`.
void run_screen(full_screen& screen, shared_view& view, const common_options& common,
                bool nodes_view, client& stream, const std::atomic<bool>& stopping) {
  std::unique_ptr<client> reads;
  std::vector<pb::Node> records;
  auto last_draw = std::chrono::steady_clock::time_point{};
  auto last_read = std::chrono::steady_clock::time_point{};
  bool leader_asked = false;
  while (!stopping) {
    if (screen.key_pressed(key_poll)) {
      stream.stop_events();
      return;
    }
    const auto now = std::chrono::steady_clock::now();
    bool read_nodes = false;
    {
      // Cleared as the read starts: events during it call for another.
      std::lock_guard lock{view.mutex};
      read_nodes = nodes_view && view.nodes_stale && now - last_read >= nodes_reread;
      if (read_nodes)
        view.nodes_stale = false;
    }
    if (read_nodes || !leader_asked) {
      try {
        if (!reads)
          // A second client, so that a slow read never holds the stream up; it gives up soon,
          // and the screen shows what it had.
          reads = std::make_unique<client>(quick_connection(common));
        if (!leader_asked) {
          auto info = reads->leader(read_mode::local);
          std::lock_guard lock{view.mutex};
          view.board.set_leader(info.leader().address(), info.term());
          view.changed = true;
        }
        if (read_nodes)
          records = reads->nodes(read_mode::local);
      } catch (const client_error&) {
        reads.reset(); // its master may be the one gone; the next read connects afresh
        std::lock_guard lock{view.mutex};
        view.nodes_stale = view.nodes_stale || read_nodes;
      }
      leader_asked = true;
      last_read = now;
    }
    const bool resized = screen.resized();
    std::string frame;
    {
      std::lock_guard lock{view.mutex};
      if (!view.changed && !resized && now - last_draw < idle_redraw)
        continue;
      const auto size = size_of_terminal(STDOUT_FILENO);
      // The last column stays empty: a line that fills it wraps on some terminals.
      const screen_size fits{std::max(size.columns - 1, 1), size.rows};
      frame = frame_of(nodes_view ? nodes_screen(view.board, records, fits)
                                  : jobs_screen(view.board, now_ms(), fits),
                       size.rows);
      view.changed = false;
    }
    draw(frame); // outside the lock: a slow terminal must not hold the stream up
    last_draw = now;
  }
}

/// run_screen on its own thread: whatever it throws stops the stream and is kept for the main
/// thread to throw once the terminal is restored.
void run_screen_guarded(full_screen& screen, shared_view& view, const common_options& common,
                        bool nodes_view, client& stream, const std::atomic<bool>& stopping,
                        std::exception_ptr& failure) {
  try {
    run_screen(screen, view, common, nodes_view, stream, stopping);
  } catch (...) {
    failure = std::current_exception();
    stream.stop_events();
  }
}

} // namespace

int top_command(const common_options& common, const std::string& what) {
  if (what != "jobs" && what != "nodes")
    throw std::invalid_argument("top shows jobs or nodes: claud top jobs, claud top nodes");
  if (common.json)
    throw std::invalid_argument("top is a live view for a terminal; a script gets the same "
                                "changes from `claud events --jobs --nodes --json`");
  if (!is_terminal(STDIN_FILENO) || !is_terminal(STDOUT_FILENO))
    throw std::invalid_argument("top draws on a terminal and ends at a key; a script gets the "
                                "same changes from `claud events --jobs --nodes --json`");
  const bool nodes_view = what == "nodes";
  client stream{connection(common)};
  shared_view view;
  std::atomic<bool> stopping{false};
  full_screen screen;
  std::exception_ptr drawing_failed;
  std::thread drawer{[&] {
    run_screen_guarded(screen, view, common, nodes_view, stream, stopping, drawing_failed);
  }};
  auto stop_drawing = [&] {
    stopping = true;
    drawer.join();
  };
  event_request request;
  request.filter.set_jobs(true); // the nodes screen counts their running jobs
  request.filter.set_nodes(true);
  request.filter.set_leader(true);
  try {
    stream.events(request, [&](const pb::EventBatch& batch) {
      std::lock_guard lock{view.mutex};
      view.board.apply(batch);
      view.changed = true;
      view.nodes_stale = true;
      return true;
    });
  } catch (...) {
    stop_drawing(); // and the screen restores the terminal before the error is printed
    throw;
  }
  stop_drawing();
  if (drawing_failed)
    std::rethrow_exception(drawing_failed);
  return 0;
}

} // namespace claud::cli
