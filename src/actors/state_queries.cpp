#include "actors/state_queries.hpp"

#include <algorithm>
#include <chrono>
#include <optional>

#include <fmt/format.h>

#include "actors/wall_clock.hpp"
#include "claud/protocol.hpp"
#include "sched/placement_index.hpp"
#include "state/events.hpp"

namespace claud {

namespace {

/// Job ids are decimal counters: by length, then text, is numeric order.
bool job_id_less(const pb::Job& a, const pb::Job& b) {
  if (a.id().size() != b.id().size())
    return a.id().size() < b.id().size();
  return a.id() < b.id();
}

/// Why a pending job waits, worked out now against the nodes in `index` (the scheduler does not
/// log it: its numbers change with every job that starts or ends). A job still in a restart's
/// backoff, or one that fits now and waits for the scheduler's next pass, keeps its committed
/// reason (that of its last restart, if any).
void explain_waiting(pb::Job& job, sched::placement_index& index, int64_t now) {
  if (job.state() != pb::JOB_PENDING || job.not_before_ms() > now)
    return;
  auto where = index.place(job.spec());
  if (where.node_id.empty())
    job.set_reason(std::move(where.reason));
}

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
      if (job->state() == pb::JOB_PENDING) {
        sched::placement_index index{state.nodes()};
        explain_waiting(*job, index, now_ms());
      }
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
  std::optional<sched::placement_index> index; // made only if some job waits
  const auto now = now_ms();
  list.mutable_jobs()->Reserve(static_cast<int>(state.job_count()));
  state.for_each_job([&](const pb::Job& job) {
    auto* copy = list.add_jobs();
    *copy = job;
    if (job.state() != pb::JOB_PENDING)
      return;
    if (!index)
      index.emplace(state.nodes());
    explain_waiting(*copy, *index, now);
  });
  std::sort(list.mutable_jobs()->begin(), list.mutable_jobs()->end(), job_id_less);
  return list;
}

caf::expected<pb::JobList> job_records(const state::cluster_state& state, const pb::JobIds& ids) {
  pb::JobList list;
  std::optional<sched::placement_index> index; // made only if some job waits
  const auto now = now_ms();
  for (const auto& id : ids.ids()) {
    auto job = state.find_job(id);
    if (!job)
      return no_such_job(id);
    auto* copy = list.add_jobs();
    *copy = std::move(*job);
    if (copy->state() != pb::JOB_PENDING)
      continue;
    if (!index)
      index.emplace(state.nodes());
    explain_waiting(*copy, *index, now);
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
