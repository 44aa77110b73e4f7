#include "state/events.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "state/job_states.hpp"

namespace claud::state {

namespace {

pb::Event job_event(pb::EventKind kind, const pb::Job& job, const pb::LogEntry& entry) {
  pb::Event event;
  event.set_index(entry.index());
  event.set_time_ms(entry.time_ms());
  event.set_kind(kind);
  event.set_job_id(job.id());
  event.set_job_name(job.spec().name());
  event.set_state(job.state());
  event.set_attempt(job.attempts());
  event.set_node_id(job.node_id());
  event.set_has_exit_code(job.has_exit_code());
  event.set_exit_code(job.exit_code());
  event.set_term_signal(job.term_signal());
  event.set_reason(job.reason());
  if (is_task_job(job)) {
    event.set_tasks_count(job.spec().task_count());
    event.set_tasks_done(job.tasks().done_count());
    event.set_tasks_retried(job.tasks().retried());
  }
  return event;
}

pb::Event node_event(pb::EventKind kind, const pb::Node& node, const pb::LogEntry& entry) {
  pb::Event event;
  event.set_index(entry.index());
  event.set_time_ms(entry.time_ms());
  event.set_kind(kind);
  event.set_node_id(node.id());
  event.set_node_state(node.state());
  event.set_draining(node.draining());
  event.set_reason(node.reason());
  return event;
}

/// A job pending again after an attempt ended: the end is the last ended step of its history.
pb::Event restarting_event(const pb::Job& job, const pb::LogEntry& entry) {
  auto event = job_event(pb::EVENT_JOB_RESTARTING, job, entry);
  const auto& history = job.history();
  auto ended = std::find_if(history.rbegin(), history.rend(),
                            [](const pb::JobEvent& step) { return is_terminal(step.state()); });
  if (ended != history.rend()) {
    event.set_node_id(ended->node_id());
    event.set_has_exit_code(ended->has_exit_code());
    event.set_exit_code(ended->exit_code());
    event.set_term_signal(ended->term_signal());
    event.set_reason(ended->reason());
  }
  return event;
}

/// The events of one job that `entry` changed.
void add_job_events(const pb::LogEntry& entry, const std::string& job_id, const pb::Job& job,
                    std::vector<pb::Event>& out) {
  const bool submitted = entry.has_job_submitted();
  if (submitted)
    out.push_back(job_event(pb::EVENT_JOB_SUBMITTED, job, entry));
  switch (job.state()) {
  case pb::JOB_PLACED:
    out.push_back(job_event(pb::EVENT_JOB_PLACED, job, entry));
    return;
  case pb::JOB_RUNNING:
    out.push_back(job_event(entry.has_job_kill_requested() ? pb::EVENT_JOB_KILL_REQUESTED
                                                           : pb::EVENT_JOB_STARTED,
                            job, entry));
    return;
  case pb::JOB_PENDING:
    if (!submitted && job.attempts() > 0)
      out.push_back(restarting_event(job, entry));
    return;
  default:
    if (is_terminal(job.state()))
      out.push_back(job_event(pb::EVENT_JOB_ENDED, job, entry));
    else
      throw std::logic_error(fmt::format("job {} has no state", job_id));
  }
}

std::string masters_change(const pb::MembershipChange& change) {
  switch (change.kind()) {
  case pb::MembershipChange::ADD_LEARNER:
    return fmt::format("{} added as a learner", change.address());
  case pb::MembershipChange::PROMOTE:
    return fmt::format("{} promoted to voter", change.address());
  case pb::MembershipChange::REMOVE:
    return fmt::format("{} removed", change.address());
  default:
    return fmt::format("{} changed", change.address());
  }
}

} // namespace

std::vector<pb::Event> events_of(const pb::LogEntry& entry, const apply_result& result,
                                 const cluster_state& after) {
  std::vector<pb::Event> out;
  if (entry.op_case() == pb::LogEntry::OP_NOT_SET) {
    pb::Event event; // the empty entry a new leader appends first
    event.set_index(entry.index());
    event.set_time_ms(entry.time_ms());
    event.set_kind(pb::EVENT_LEADER_CHANGED);
    event.set_term(entry.term());
    event.set_leader(entry.leader());
    out.push_back(std::move(event));
    return out;
  }
  if (!result.applied)
    return out;
  if (entry.has_membership_change()) {
    pb::Event event;
    event.set_index(entry.index());
    event.set_time_ms(entry.time_ms());
    event.set_kind(pb::EVENT_MASTERS_CHANGED);
    event.set_reason(masters_change(entry.membership_change()));
    out.push_back(std::move(event));
    return out;
  }
  // A node entry's own event; the others only change a node's resources, which is no event.
  const auto kind = entry.has_node_registered() ? pb::EVENT_NODE_JOINED
                    : entry.has_node_lost()     ? pb::EVENT_NODE_LOST
                    : entry.has_node_drain()    ? pb::EVENT_NODE_DRAINED
                                                : pb::EVENT_KIND_UNSPECIFIED;
  if (kind != pb::EVENT_KIND_UNSPECIFIED)
    for (const auto& id : result.changed_nodes)
      if (const auto* node = after.find_node(id))
        out.push_back(node_event(kind, *node, entry));
  // Progress first: a job's 100 % comes before its end, when both are of one entry.
  for (const auto& [id, percent] : result.task_milestones) {
    auto job = after.find_job(id);
    auto event = job_event(pb::EVENT_JOB_PROGRESS, *job, entry);
    event.set_percent(percent);
    out.push_back(std::move(event));
  }
  const auto& quiet = result.quiet_jobs;
  for (const auto& id : result.changed_jobs) {
    if (std::find(quiet.begin(), quiet.end(), id) != quiet.end())
      continue;
    if (const auto* live = after.find_live_job(id))
      add_job_events(entry, id, *live, out);
    else if (auto ended = after.find_job(id))
      add_job_events(entry, id, *ended, out);
  }
  return out;
}

bool is_node_event(pb::EventKind kind) {
  return kind == pb::EVENT_NODE_JOINED || kind == pb::EVENT_NODE_LOST
         || kind == pb::EVENT_NODE_DRAINED || kind == pb::EVENT_NODE_STATE;
}

std::string filter_error(const pb::EventFilter& filter, const filter_limits& limits) {
  if (static_cast<size_t>(filter.job_ids_size()) > limits.max_job_ids)
    return fmt::format("a subscription names {} jobs; at most {} may be named",
                       filter.job_ids_size(), limits.max_job_ids);
  if (filter.name_prefix().size() > limits.max_name_prefix_bytes)
    return fmt::format("a name prefix of {} bytes is too long; at most {}",
                       filter.name_prefix().size(), limits.max_name_prefix_bytes);
  for (const auto& id : filter.job_ids())
    if (id.empty() || id.size() > 64)
      return fmt::format("\"{}\" is not a job id", id.substr(0, 64));
  return "";
}

event_filter::event_filter(const pb::EventFilter& filter)
    : filter_(filter), job_ids_(filter.job_ids().begin(), filter.job_ids().end()) {
  all_ = !filter.jobs() && filter.job_ids_size() == 0 && filter.name_prefix().empty()
         && !filter.nodes() && !filter.leader();
}

bool event_filter::passes(const pb::Event& event) const {
  if (all_)
    return true;
  if (is_node_event(event.kind()))
    return filter_.nodes();
  switch (event.kind()) {
  case pb::EVENT_LEADER_CHANGED:
  case pb::EVENT_MASTERS_CHANGED:
    return filter_.leader();
  default:
    break;
  }
  if (filter_.jobs() || job_ids_.count(event.job_id()))
    return true;
  const auto& prefix = filter_.name_prefix();
  return !prefix.empty() && event.job_name().compare(0, prefix.size(), prefix) == 0;
}

std::vector<pb::Event> snapshot_events(const cluster_state& state, const event_filter& filter) {
  pb::LogEntry at; // the snapshot's events are stamped with its index
  at.set_index(state.applied_index());
  std::vector<pb::Event> out;
  const auto& spec = filter.spec();
  const bool all = filter.passes_all_jobs();
  std::unordered_set<std::string> given; // a named job that its name selected too comes once
  if (all || !spec.name_prefix().empty()) {
    std::vector<const pb::Job*> live;
    for (const auto& [id, job] : state.live_jobs())
      live.push_back(&job);
    std::sort(live.begin(), live.end(), [](auto* a, auto* b) { return a->id() < b->id(); });
    for (const auto* job : live) {
      auto event = job_event(pb::EVENT_JOB_STATE, *job, at);
      if (filter.passes(event)) {
        given.insert(job->id());
        out.push_back(std::move(event));
      }
    }
  }
  for (const auto& id : spec.job_ids()) {
    if (!given.insert(id).second) // given above (live), or named twice
      continue;
    if (auto job = state.find_job(id)) {
      out.push_back(job_event(pb::EVENT_JOB_STATE, *job, at));
    } else {
      pb::Event missing;
      missing.set_index(at.index());
      missing.set_kind(pb::EVENT_JOB_NOT_FOUND);
      missing.set_job_id(id);
      out.push_back(std::move(missing));
    }
  }
  if (filter.passes(node_event(pb::EVENT_NODE_STATE, pb::Node{}, at))) {
    std::vector<const pb::Node*> nodes;
    for (const auto& [id, node] : state.nodes())
      nodes.push_back(&node);
    std::sort(nodes.begin(), nodes.end(), [](auto* a, auto* b) { return a->id() < b->id(); });
    for (const auto* node : nodes)
      out.push_back(node_event(pb::EVENT_NODE_STATE, *node, at));
  }
  return out;
}

std::string event_kind_name(pb::EventKind kind) {
  switch (kind) {
  case pb::EVENT_JOB_SUBMITTED:
    return "job-submitted";
  case pb::EVENT_JOB_PLACED:
    return "job-placed";
  case pb::EVENT_JOB_STARTED:
    return "job-started";
  case pb::EVENT_JOB_ENDED:
    return "job-ended";
  case pb::EVENT_JOB_RESTARTING:
    return "job-restarting";
  case pb::EVENT_JOB_KILL_REQUESTED:
    return "job-kill-requested";
  case pb::EVENT_JOB_PROGRESS:
    return "job-progress";
  case pb::EVENT_NODE_JOINED:
    return "node-joined";
  case pb::EVENT_NODE_LOST:
    return "node-lost";
  case pb::EVENT_NODE_DRAINED:
    return "node-drained";
  case pb::EVENT_LEADER_CHANGED:
    return "leader-changed";
  case pb::EVENT_MASTERS_CHANGED:
    return "masters-changed";
  case pb::EVENT_JOB_STATE:
    return "job-state";
  case pb::EVENT_NODE_STATE:
    return "node-state";
  case pb::EVENT_JOB_NOT_FOUND:
    return "job-not-found";
  default:
    return "unknown";
  }
}

} // namespace claud::state
