#include "actors/state_queries.hpp"

#include <algorithm>
#include <chrono>
#include <optional>

#include <fmt/format.h>

#include "actors/wall_clock.hpp"
#include "claud/protocol.hpp"
#include "sched/placement_index.hpp"
#include "state/dependencies.hpp"
#include "state/events.hpp"
#include "state/job_states.hpp"

namespace claud {

namespace {

bool job_id_less(const pb::Job& a, const pb::Job& b) {
  return state::job_id_less(a.id(), b.id());
}

/// Why pending jobs wait, worked out now (the scheduler does not log it: its numbers change with
/// every job that starts or ends): the jobs one waits for, else the nodes it does not fit on.
/// A job still in a restart's backoff, or one that fits now and waits for the scheduler's next
/// pass, keeps its committed reason (that of its last restart, if any).
class waiting_explainer {
public:
  explicit waiting_explainer(const state::cluster_state& state) : state_(state) {}

  void explain(pb::Job& job) {
    if (job.state() != pb::JOB_PENDING)
      return;
    if (job.waits_for_size() > 0) {
      job.set_reason(state::waiting_reason(job, [&](const std::string& id) {
        const auto* waited_for = state_.find_live_job(id);
        return waited_for != nullptr ? waited_for->state() : pb::JOB_STATE_UNSPECIFIED;
      }));
      return;
    }
    if (job.not_before_ms() > now_)
      return;
    if (!index_) // made only if some job waits for a node
      index_.emplace(state_.nodes());
    auto where = index_->place(job.spec());
    if (where.node_id.empty())
      job.set_reason(std::move(where.reason));
  }

private:
  const state::cluster_state& state_;
  const int64_t now_ = now_ms();
  std::optional<sched::placement_index> index_;
};

caf::error no_such_job(const std::string& id) {
  return make_error(errc::not_found,
                    fmt::format("no job with id '{}'; `claud jobs` lists them", id));
}

} // namespace

void deliver_query(caf::response_promise& promise, const state_query& query,
                   const state::cluster_state& state) {
  switch (query.kind) {
  case state_query::status:
    if (auto job = state.find_job(query.job_id)) {
      waiting_explainer{state}.explain(*job);
      promise.deliver(std::move(*job));
    } else {
      promise.deliver(no_such_job(query.job_id));
    }
    return;
  case state_query::jobs:
    promise.deliver(job_list(state));
    return;
  case state_query::nodes:
    promise.deliver(node_list(state));
    return;
  case state_query::leader:
    break;
  }
  throw std::logic_error("deliver_query: leader queries are answered by leader_election");
}

pb::JobList job_list(const state::cluster_state& state) {
  pb::JobList list;
  waiting_explainer waiting{state};
  list.mutable_jobs()->Reserve(static_cast<int>(state.job_count()));
  state.for_each_job([&](const pb::Job& job) {
    auto* copy = list.add_jobs();
    *copy = job;
    waiting.explain(*copy);
  });
  std::sort(list.mutable_jobs()->begin(), list.mutable_jobs()->end(), job_id_less);
  return list;
}

caf::expected<pb::JobList> job_records(const state::cluster_state& state, const pb::JobIds& ids) {
  pb::JobList list;
  waiting_explainer waiting{state};
  for (const auto& id : ids.ids()) {
    auto job = state.find_job(id);
    if (!job)
      return no_such_job(id);
    auto* copy = list.add_jobs();
    *copy = std::move(*job);
    waiting.explain(*copy);
  }
  return list;
}

caf::expected<pb::Job> submission_job(const state::cluster_state& state, const std::string& key) {
  auto known = state.submission(key);
  auto job = known ? state.find_job(known->job_id()) : std::nullopt;
  if (!job)
    return make_error(errc::not_found, "no job under that idempotency key");
  return std::move(*job);
}

pb::NodeList node_list(const state::cluster_state& state) {
  pb::NodeList list;
  for (const auto& [id, node] : state.nodes())
    *list.add_nodes() = node;
  std::sort(list.mutable_nodes()->begin(), list.mutable_nodes()->end(),
            [](const pb::Node& a, const pb::Node& b) { return a.id() < b.id(); });
  return list;
}

pb::EventBatch event_snapshot(const state::cluster_state& state, uint64_t index,
                              const pb::EventFilter& filter) {
  pb::EventBatch snapshot;
  snapshot.set_index(index);
  snapshot.set_snapshot(true);
  for (auto& event : state::snapshot_events(state, state::event_filter{filter}))
    *snapshot.add_events() = std::move(event);
  return snapshot;
}

} // namespace claud
