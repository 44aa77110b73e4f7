#include "cli/cluster_board.hpp"

#include <algorithm>
#include <utility>

#include <fmt/format.h>

#include "cli/view_parts.hpp"
#include "log/printable.hpp"
#include "state/events.hpp"
#include "state/units.hpp"

namespace claud::cli {

namespace {

/// The line cut to the screen's width (the views print ASCII and printable() text only).
std::string fit(std::string line, int columns) {
  if (columns > 0 && line.size() > static_cast<size_t>(columns))
    line.resize(static_cast<size_t>(columns));
  return line;
}

/// " | index 1234 | leader 127.0.0.1:7401, term 3 | a key quits"
std::string title_tail(const cluster_board& board) {
  auto out = fmt::format(" | index {}", board.index());
  if (!board.leader().empty())
    out += fmt::format(" | leader {}, term {}", board.leader(), board.term());
  return out + " | a key quits";
}

/// Where a job comes on the jobs screen: running, pending, then the latest ended first (and by
/// id among equals, the order the rows start in).
std::pair<int, int64_t> screen_order(const board_job& job) {
  if (state::holds_resources(job.state))
    return {0, 0};
  if (!state::is_terminal(job.state))
    return {1, 0};
  return {2, -job.changed_ms};
}

/// The rows of `all` the screen has room for, and the line saying how many it had not.
template<class Row>
void add_rows(std::vector<std::string>& lines, const std::vector<Row>& all, screen_size size,
              std::string (*row_text)(const Row&)) {
  const auto room = static_cast<size_t>(std::max(size.rows - static_cast<int>(lines.size()), 0));
  const bool all_fit = all.size() <= room;
  const size_t shown = all_fit ? all.size() : room > 0 ? room - 1 : 0;
  for (size_t i = 0; i < shown; ++i)
    lines.push_back(fit(row_text(all[i]), size.columns));
  if (!all_fit && room > 0)
    lines.push_back(
        fit(fmt::format("... and {} more (a taller terminal shows them)", all.size() - shown),
            size.columns));
}

struct job_row {
  const std::string* id;
  const board_job* job;
  int64_t now_ms;
};

constexpr auto job_columns = "{:<8} {:<16} {:<10} {:<16} {:>4} {:<6} {:>6} {}";

std::string job_row_text(const job_row& row) {
  const auto& job = *row.job;
  return fmt::format(job_columns, *row.id, log::printable(job.name).substr(0, 16),
                     state::job_state_name(job.state), or_dash(job.node_id).substr(0, 16),
                     job.attempt, exit_text(job.has_exit_code, job.exit_code, job.term_signal),
                     job.changed_ms == 0 ? "-" : age_text(row.now_ms - job.changed_ms),
                     log::printable(job.reason));
}

struct node_row {
  std::string id;
  const board_node* told = nullptr; // by the stream
  const pb::Node* record = nullptr; // read
  size_t running = 0;
};

constexpr auto node_columns = "{:<16} {:<6} {:>12} {:>16} {:>5} {}";

std::string node_row_text(const node_row& row) {
  const auto* r = row.record;
  const auto node_state = row.told != nullptr ? row.told->state : r->state();
  const bool draining = row.told != nullptr ? row.told->draining : r->draining();
  auto free = [](int64_t total, int64_t used, std::string (*text)(int64_t)) {
    return text(total - used) + "/" + text(total);
  };
  auto cpus = [](int64_t millis) { return state::format_cpus(millis); };
  auto bytes = [](int64_t n) { return state::format_bytes(n); };
  return fmt::format(
      node_columns, row.id.substr(0, 16), node_state_text(node_state, draining),
      r != nullptr ? free(r->cpu_millis_total(), r->cpu_millis_used(), cpus) : "-",
      r != nullptr ? free(r->memory_bytes_total(), r->memory_bytes_used(), bytes) : "-",
      row.running,
      r != nullptr ? labels_text(*r)
                   : (row.told->reason.empty() ? "-" : log::printable(row.told->reason)));
}

} // namespace

void cluster_board::apply(const pb::EventBatch& batch) {
  if (batch.snapshot() && !in_snapshot_) {
    jobs_.clear();
    ended_.clear();
    ended_counts_.clear();
    nodes_.clear();
  }
  in_snapshot_ = batch.snapshot() && !batch.snapshot_done();
  index_ = std::max(index_, batch.index());
  for (const auto& event : batch.events()) {
    if (event.kind() == pb::EVENT_LEADER_CHANGED) {
      set_leader(event.leader(), event.term());
    } else if (state::is_node_event(event.kind())) {
      auto& node = nodes_[event.node_id()];
      node.state = event.node_state();
      node.draining = event.draining();
      node.reason = event.reason();
    } else if (!event.job_id().empty() && event.kind() != pb::EVENT_JOB_NOT_FOUND) {
      apply_job(event);
    }
  }
}

void cluster_board::apply_job(const pb::Event& event) {
  auto& job = jobs_[event.job_id()];
  const bool had_ended = state::is_terminal(job.state);
  if (had_ended)
    ended_.erase({job.changed_ms, event.job_id()});
  if (!event.job_name().empty())
    job.name = event.job_name();
  job.state = event.state();
  job.node_id = event.node_id();
  job.attempt = event.attempt();
  job.has_exit_code = event.has_exit_code();
  job.exit_code = event.exit_code();
  job.term_signal = event.term_signal();
  job.reason = event.reason();
  if (event.kind() != pb::EVENT_JOB_STATE) // a snapshot's states are not changes
    job.changed_ms = event.time_ms();
  if (!state::is_terminal(job.state))
    return;
  if (!had_ended && event.kind() != pb::EVENT_JOB_STATE)
    ++ended_counts_[job.state];
  ended_.emplace(job.changed_ms, event.job_id());
  if (ended_.size() > max_ended_jobs) { // the one that ended longest ago goes
    jobs_.erase(ended_.begin()->second);
    ended_.erase(ended_.begin());
  }
}

void cluster_board::set_leader(std::string leader, uint64_t term) {
  if (term < term_)
    return;
  leader_ = std::move(leader);
  term_ = term;
}

std::vector<std::string> jobs_screen(const cluster_board& board, int64_t now_ms, screen_size size) {
  std::map<pb::JobState, size_t> counts;
  std::vector<job_row> rows;
  rows.reserve(board.jobs().size());
  for (const auto& [id, job] : board.jobs()) {
    ++counts[job.state];
    rows.push_back({&id, &job, now_ms});
  }
  std::stable_sort(rows.begin(), rows.end(), [](const job_row& a, const job_row& b) {
    return screen_order(*a.job) < screen_order(*b.job);
  });
  auto title
      = fmt::format("jobs: {} running, {} pending",
                    counts[pb::JOB_PLACED] + counts[pb::JOB_RUNNING], counts[pb::JOB_PENDING]);
  // The stream's snapshot holds the live jobs: those ended are the ones seen to end.
  std::vector<std::string> ended_counts;
  for (const auto& [ended, n] : board.ended_counts())
    ended_counts.push_back(fmt::format("{} {}", n, state::job_state_name(ended)));
  if (!ended_counts.empty())
    title += fmt::format("; ended since: {}", fmt::join(ended_counts, ", "));
  std::vector<std::string> lines{
      fit(title + title_tail(board), size.columns),
      fit(fmt::format(job_columns, "ID", "NAME", "STATE", "NODE", "ATT", "EXIT", "FOR", "REASON"),
          size.columns)};
  add_rows(lines, rows, size, job_row_text);
  return lines;
}

std::vector<std::string> nodes_screen(const cluster_board& board,
                                      const std::vector<pb::Node>& records, screen_size size) {
  std::map<std::string, node_row> by_id;
  for (const auto& [id, told] : board.nodes())
    by_id[id] = {id, &told};
  for (const auto& record : records)
    if (state::runs_jobs(record.role())) {
      auto& row = by_id[record.id()];
      row.id = record.id();
      row.record = &record;
    }
  for (const auto& [id, job] : board.jobs())
    if (state::holds_resources(job.state))
      if (auto row = by_id.find(job.node_id); row != by_id.end())
        ++row->second.running;
  std::map<std::string, size_t> counts;
  std::vector<node_row> rows;
  for (auto& [id, row] : by_id) {
    const auto* told = row.told;
    ++counts[node_state_text(told != nullptr ? told->state : row.record->state(),
                             told != nullptr ? told->draining : row.record->draining())];
    rows.push_back(row);
  }
  std::vector<std::string> parts;
  for (const auto& [text, n] : counts)
    parts.push_back(fmt::format("{} {}", n, text));
  std::vector<std::string> lines{
      fit(fmt::format("nodes: {}{}",
                      parts.empty() ? "none" : fmt::format("{}", fmt::join(parts, ", ")),
                      title_tail(board)),
          size.columns),
      fit(fmt::format(node_columns, "ID", "STATE", "CPUS FREE", "MEMORY FREE", "JOBS", "LABELS"),
          size.columns)};
  add_rows(lines, rows, size, node_row_text);
  return lines;
}

} // namespace claud::cli
