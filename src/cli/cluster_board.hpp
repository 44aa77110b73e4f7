#pragma once
// What a live view (`claud top`, the REPL's `watch`) knows of the cluster: the jobs, nodes and
// leader as the event stream told them, and the screens drawn from them. Pure: batches of events
// go in and lines of text come out, so the views are tested without a cluster or a terminal.

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "cluster.pb.h"
#include "events.pb.h"
#include "state/job_states.hpp"

namespace claud::cli {

struct board_job {
  std::string name;
  pb::JobState state = pb::JOB_STATE_UNSPECIFIED;
  std::string node_id;
  uint32_t attempt = 0;
  bool has_exit_code = false;
  int32_t exit_code = 0;
  int32_t term_signal = 0;
  std::string reason;
  int64_t changed_ms = 0; // when it last changed (0: before the board's snapshot)
};

struct board_node {
  pb::NodeState state = pb::NODE_STATE_UNSPECIFIED;
  bool draining = false;
  std::string reason;
};

struct job_id_order {
  bool operator()(const std::string& a, const std::string& b) const {
    return state::job_id_less(a, b);
  }
};

class cluster_board {
public:
  /// Ended jobs it keeps, the latest to end: a live view shows those first, and a long watch of
  /// a busy cluster must not grow without bound.
  static constexpr size_t max_ended_jobs = 1000;

  /// Applies one batch of a stream of job, node and leader events. The first batch of a snapshot
  /// (at the start, or after missed events) replaces what the board held.
  void apply(const pb::EventBatch& batch);

  uint64_t index() const {
    return index_;
  }
  const std::map<std::string, board_job, job_id_order>& jobs() const {
    return jobs_;
  }
  const std::map<std::string, board_node>& nodes() const {
    return nodes_;
  }
  /// How many jobs ended in each state since the board's snapshot (all of them, kept or not).
  const std::map<pb::JobState, size_t>& ended_counts() const {
    return ended_counts_;
  }
  /// The leader's HOST:PORT and term, once an election has been told ("" before).
  const std::string& leader() const {
    return leader_;
  }
  uint64_t term() const {
    return term_;
  }
  void set_leader(std::string leader, uint64_t term);

private:
  void apply_job(const pb::Event& event);

  std::map<std::string, board_job, job_id_order> jobs_;
  std::set<std::pair<int64_t, std::string>> ended_; // (when it ended, id) of the ended jobs
  std::map<pb::JobState, size_t> ended_counts_;
  std::map<std::string, board_node> nodes_;
  std::string leader_;
  uint64_t term_ = 0;
  uint64_t index_ = 0;
  bool in_snapshot_ = false;
};

struct screen_size {
  int columns = 80;
  int rows = 24;
};

/// The jobs screen: a line of counts, the column names, then as many jobs as fit, running first,
/// then pending, then the latest to end (a stream's snapshot holds live jobs: those seen to end),
/// and a last line for those that did not fit. Every line is at most `size.columns` wide.
/// `now_ms` dates the ages.
std::vector<std::string> jobs_screen(const cluster_board& board, int64_t now_ms, screen_size size);

/// The nodes screen: every node the board or `records` (the latest nodes read, for their
/// resources) knows, its state from the board (the newer), its running jobs counted from it.
std::vector<std::string> nodes_screen(const cluster_board& board,
                                      const std::vector<pb::Node>& records, screen_size size);

} // namespace claud::cli
