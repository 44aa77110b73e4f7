#include "actors/scheduler.hpp"

#include <algorithm>
#include <chrono>
#include <optional>

#include <caf/all.hpp>

#include "actors/internal_atoms.hpp"
#include "claud/protocol.hpp"
#include "log/log.hpp"
#include "sched/placement_index.hpp"
#include "state/job_states.hpp"

namespace claud {

namespace {

struct scheduler_state {
  scheduler_config config;
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

void propose(self_pointer self, pb::LogEntry entry) {
  auto& st = self->state;
  ++st.proposals_in_flight;
  auto done = [self] {
    if (--self->state.proposals_in_flight == 0)
      finish_pass(self);
  };
  self->request(st.config.leader_election, st.config.internal_timeout, propose_atom::value,
                std::move(entry))
      .then([done](const std::string&) { done(); },
            [done](caf::error& err) {
              // A placement that no longer fits is refused by apply; the next pass retries it.
              log::debug("scheduler", "proposal not applied", {{"error", error_message(err)}});
              done();
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
  std::optional<sched::placement_index> index;
  if (!pending.empty())
    index.emplace(view.nodes());
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
    propose(self, std::move(entry));
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
  self->send(self->state.config.leader_election, subscribe_atom::value,
             caf::actor_cast<caf::actor>(self));
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
      [=](node_update_atom, const pb::Node&) { request_pass(self); },
  };
}

} // namespace

caf::actor spawn_scheduler(caf::actor_system& system, scheduler_config config) {
  return system.spawn(scheduler, std::move(config));
}

} // namespace claud
