#include "actors/scheduler.hpp"

#include <algorithm>
#include <chrono>
#include <optional>

#include <caf/all.hpp>

#include "actors/internal_atoms.hpp"
#include "claud/protocol.hpp"
#include "log/log.hpp"
#include "sched/node_ledger.hpp"
#include "sched/placement_index.hpp"
#include "state/job_states.hpp"

namespace claud {

namespace {

/// A submission waiting for the next batch to place it.
struct submission {
  pb::JobSpec spec;
  caf::response_promise promise;
};

struct scheduler_state {
  scheduler_config config;
  sched::node_ledger nodes; // committed records and what proposals in flight will take
  std::vector<submission> submissions;
  bool batch_scheduled = false;
  int64_t wakeup_at_ms = 0; // a pass is scheduled for then (a restart's backoff ends), 0 if none
  bool leading = false;     // only the leader places jobs
  bool passing = false;
  bool dirty = false;
  size_t proposals_in_flight = 0;
  static inline const char* name = "scheduler";
};

using self_pointer = caf::stateful_actor<scheduler_state>*;

void request_pass(self_pointer self) {
  auto& st = self->state;
  if (!st.leading)
    return;
  if (st.passing || st.dirty) {
    st.dirty = true;
    return;
  }
  st.dirty = true;
  self->send(self, schedule_atom::value);
}

void finish_pass(self_pointer self) {
  auto& st = self->state;
  st.passing = false;
  if (st.dirty) {
    st.dirty = false;
    request_pass(self);
  }
}

/// Proposes `entry`, holding `spec`'s resources on `node_id` (if any) in the ledger until the
/// proposal is answered; `done` gets the answer.
template<class Done>
void propose_holding(self_pointer self, pb::LogEntry entry, const std::string& node_id,
                     const pb::JobSpec& spec, Done done) {
  auto& st = self->state;
  auto held = node_id.empty() ? 0 : st.nodes.reserve(node_id, spec);
  self->request(st.config.leader_election, st.config.internal_timeout, propose_atom::value,
                std::move(entry))
      .then(
          [=](std::string& job_id) mutable {
            self->state.nodes.release(held);
            done(caf::expected<std::string>{std::move(job_id)});
          },
          [=](caf::error& err) mutable {
            self->state.nodes.release(held);
            done(caf::expected<std::string>{std::move(err)});
          });
}

/// Proposes a pass's placement (or reason); the pass ends when all of them are answered.
void propose(self_pointer self, pb::LogEntry entry, const pb::JobSpec& spec) {
  auto& st = self->state;
  ++st.proposals_in_flight;
  std::string node_id = entry.has_job_placed() ? entry.job_placed().node_id() : std::string{};
  propose_holding(self, std::move(entry), node_id, spec, [self](caf::expected<std::string> answer) {
    // A placement that no longer fits is refused by apply; the next pass retries it.
    if (!answer)
      log::debug("scheduler", "proposal not applied", {{"error", error_message(answer.error())}});
    if (--self->state.proposals_in_flight == 0)
      finish_pass(self);
  });
}

/// Job ids are decimal counters: order by length, then text, to place the oldest first.
bool older(const pb::Job* a, const pb::Job* b) {
  if (a->id().size() != b->id().size())
    return a->id().size() < b->id().size();
  return a->id() < b->id();
}

int64_t now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

void schedule_wakeup(self_pointer self, int64_t at_ms, int64_t now) {
  auto& st = self->state;
  if (at_ms == 0 || (st.wakeup_at_ms != 0 && st.wakeup_at_ms <= at_ms && st.wakeup_at_ms > now))
    return;
  st.wakeup_at_ms = at_ms;
  self->delayed_send(self, std::chrono::milliseconds{at_ms - now}, tick_atom::value);
}

void place_pending(self_pointer self, const pb::ClusterState& view) {
  // The view is the committed state as of now; the updates still to come are newer.
  self->state.nodes.reset(view.nodes());
  // Restarts wait out their backoff; a timer brings the scheduler back when the first one ends.
  const int64_t now = now_ms();
  int64_t next_wakeup = 0;
  std::vector<const pb::Job*> pending;
  for (const auto& [id, job] : view.jobs()) {
    if (job.not_before_ms() <= now)
      pending.push_back(&job);
    else if (next_wakeup == 0 || job.not_before_ms() < next_wakeup)
      next_wakeup = job.not_before_ms();
  }
  schedule_wakeup(self, next_wakeup, now);
  std::sort(pending.begin(), pending.end(), older);
  if (pending.size() > self->state.config.max_placements_per_pass) {
    pending.resize(self->state.config.max_placements_per_pass);
    self->state.dirty = true; // the rest in the next pass
  }
  // One index of the nodes for the whole pass: each placement reserves its resources in it, so
  // the next job sees what is left, without a scan of every node per job.
  // Proposals of submissions may be in flight: their reservations are in the ledger's nodes.
  std::optional<sched::placement_index> index;
  if (!pending.empty())
    index.emplace(self->state.nodes.nodes());
  for (const pb::Job* job : pending) {
    auto where = index->place(job->spec());
    pb::LogEntry entry;
    if (!where.node_id.empty()) {
      index->reserve(where.node_id, job->spec());
      entry.mutable_job_placed()->set_job_id(job->id());
      entry.mutable_job_placed()->set_node_id(where.node_id);
    } else if (where.reason != job->reason()) {
      entry.mutable_job_unplaceable()->set_job_id(job->id());
      entry.mutable_job_unplaceable()->set_reason(where.reason);
    } else {
      continue;
    }
    propose(self, std::move(entry), job->spec());
  }
  if (self->state.proposals_in_flight == 0)
    finish_pass(self);
}

void pass(self_pointer self) {
  auto& st = self->state;
  st.dirty = false;
  st.passing = true;
  self->request(st.config.leader_election, st.config.internal_timeout, view_atom::value)
      .then([=](const pb::ClusterState& view) { place_pending(self, view); },
            [=](caf::error& err) {
              log::warn("scheduler", "cannot read the cluster state",
                        {{"error", error_message(err)}});
              finish_pass(self);
            });
}

/// Places the submissions that arrived since the last batch against one index of the nodes, and
/// proposes each as one entry that already holds its placement (or none: it waits for a pass).
void place_submissions(self_pointer self) {
  auto& st = self->state;
  st.batch_scheduled = false;
  auto batch = std::move(st.submissions);
  st.submissions.clear();
  const auto nodes = st.nodes.nodes();
  sched::placement_index index{nodes};
  for (auto& [spec, promise] : batch) {
    if (auto never = sched::never_fits_reason(nodes, spec); !never.empty()) {
      promise.deliver(make_error(errc::invalid_request, never));
      continue;
    }
    pb::LogEntry entry;
    *entry.mutable_job_submitted()->mutable_spec() = spec;
    auto where = index.place(spec);
    if (!where.node_id.empty()) {
      index.reserve(where.node_id, spec);
      entry.mutable_job_submitted()->set_node_id(where.node_id);
    }
    propose_holding(self, std::move(entry), where.node_id, spec,
                    [promise](caf::expected<std::string> job_id) mutable {
                      if (job_id)
                        promise.deliver(std::move(*job_id));
                      else
                        promise.deliver(std::move(job_id.error()));
                    });
  }
}

/// Queues a submission; the batch runs once the mailbox holds no more of them.
caf::result<std::string> submit(self_pointer self, pb::JobSpec& spec) {
  auto& st = self->state;
  auto promise = self->make_response_promise();
  st.submissions.push_back({std::move(spec), promise});
  if (!st.batch_scheduled) {
    st.batch_scheduled = true;
    self->send(self, place_atom::value);
  }
  return promise;
}

/// How often retention runs: a tenth of the retention, between one second and ten minutes.
std::chrono::milliseconds retention_period(std::chrono::milliseconds retention) {
  return std::clamp(retention / 10, std::chrono::milliseconds{1000},
                    std::chrono::milliseconds{600000});
}

void expire_old_jobs(self_pointer self) {
  auto& st = self->state;
  self->delayed_send(self, retention_period(st.config.job_retention), expire_atom::value);
  if (!st.leading)
    return;
  pb::LogEntry entry;
  entry.mutable_jobs_expired()->set_finished_before_ms(now_ms() - st.config.job_retention.count());
  self->request(st.config.leader_election, st.config.internal_timeout, propose_atom::value,
                std::move(entry))
      .then([](const std::string&) {},
            [](caf::error& err) {
              log::debug("scheduler", "retention not applied", {{"error", error_message(err)}});
            });
}

caf::behavior scheduler(self_pointer self, scheduler_config config) {
  self->state.config = std::move(config);
  const auto& election = self->state.config.leader_election;
  self->send(election, subscribe_atom::value, caf::actor_cast<caf::actor>(self));
  // The updates that follow the subscription come after this answer (one sender, in order).
  self->request(election, caf::infinite, local_atom::value, nodes_atom::value)
      .then(
          [=](const pb::NodeList& list) {
            self->state.nodes.reset(list.nodes());
            request_pass(self);
          },
          [](caf::error& err) {
            log::error("scheduler", "cannot read the nodes", {{"error", error_message(err)}});
          });
  self->delayed_send(self, retention_period(self->state.config.job_retention), expire_atom::value);
  return {
      [=](expire_atom) { expire_old_jobs(self); },
      [=](role_atom, bool leading, const std::string&) {
        bool became_leader = leading && !self->state.leading;
        self->state.leading = leading;
        if (became_leader)
          request_pass(self); // jobs may be pending since before this master led
      },
      [=](schedule_atom) { pass(self); },
      [=](tick_atom) {
        self->state.wakeup_at_ms = 0;
        request_pass(self);
      },
      [=](job_update_atom, const pb::Job& job) {
        if (job.state() == pb::JOB_PENDING || state::is_terminal(job.state()))
          request_pass(self);
      },
      [=](node_update_atom, const pb::Node& node) {
        if (self->state.nodes.update(node))
          request_pass(self);
      },
      [=](submit_atom, pb::JobSpec& spec) { return submit(self, spec); },
      [=](place_atom) { place_submissions(self); },
  };
}

} // namespace

caf::actor spawn_scheduler(caf::actor_system& system, scheduler_config config) {
  return system.spawn(scheduler, std::move(config));
}

} // namespace claud
