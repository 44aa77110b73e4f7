#include "actors/scheduler.hpp"

#include <algorithm>
#include <chrono>
#include <map>
#include <memory>
#include <vector>

#include <caf/all.hpp>

#include "actors/internal_atoms.hpp"
#include "actors/wall_clock.hpp"
#include "claud/protocol.hpp"
#include "log/log.hpp"
#include "sched/pending_queue.hpp"

namespace claud {

namespace {

/// A submission waiting for the next batch to place it.
struct submission {
  pb::JobSpec spec;
  caf::response_promise promise;
  std::string key; // its idempotency key (the spec moves into the plan)
};

struct scheduler_state {
  scheduler_config config;
  sched::pending_queue queue{1024}; // the decisions; replaced with the configured bound
  std::vector<submission> submissions;
  // Retries of submissions in flight, by idempotency key: they get the first one's answer.
  std::map<std::string, std::vector<caf::response_promise>> followers;
  bool batch_scheduled = false;
  int64_t wakeup_at_ms = 0; // a pass is scheduled for then (a restart's backoff ends), 0 if none
  bool leading = false;     // only the leader places jobs
  bool dirty = false;       // a pass is requested and not run yet
  static inline const char* name = "scheduler";
};

using self_pointer = caf::stateful_actor<scheduler_state>*;

/// Asks for a pass after the messages already in the mailbox: requests in a burst make one.
void request_pass(self_pointer self) {
  auto& st = self->state;
  if (!st.leading || st.dirty)
    return;
  st.dirty = true;
  self->send(self, schedule_atom::value);
}

void schedule_wakeup(self_pointer self, int64_t at_ms, int64_t now) {
  auto& st = self->state;
  if (at_ms == 0 || (st.wakeup_at_ms != 0 && st.wakeup_at_ms <= at_ms && st.wakeup_at_ms > now))
    return;
  st.wakeup_at_ms = at_ms;
  self->delayed_send(self, std::chrono::milliseconds{at_ms - now}, tick_atom::value);
}

/// Proposes a pass's placement; the queue holds its resources until the answer.
void propose(self_pointer self, sched::pending_queue::placement placement) {
  auto entry = placement.entry;
  auto answered = [self, placement](bool applied) {
    auto now = now_ms();
    schedule_wakeup(self, self->state.queue.placement_answered(placement, applied, now), now);
  };
  self->request(self->state.config.leader_election, self->state.config.internal_timeout,
                propose_atom::value, std::move(entry))
      .then([=](const std::string&) { answered(true); },
            [=](caf::error& err) {
              log::debug("scheduler", "proposal not applied", {{"error", error_message(err)}});
              answered(false);
            });
}

/// Places the pending jobs oldest first. A job that fits nowhere waits; why is worked out when
/// someone asks (state_queries), since the numbers in it change with every job that starts or ends
/// and would otherwise cost log entries all the time.
void pass(self_pointer self) {
  auto& st = self->state;
  st.dirty = false;
  const int64_t now = now_ms();
  auto plan = st.queue.pass(now);
  for (auto& placement : plan.placements)
    propose(self, std::move(placement));
  if (plan.more)
    request_pass(self);
  schedule_wakeup(self, plan.wake_at_ms, now);
}

/// A submission no node could ever run is refused, unless its idempotency key already made a
/// job: then it is a retry of a submission that was accepted (before nodes went away), and its
/// answer is that job.
void refuse_unless_known(self_pointer self, const std::string& key, const std::string& refusal,
                         caf::response_promise promise) {
  if (key.empty()) {
    promise.deliver(make_error(errc::invalid_request, refusal));
    return;
  }
  self->request(self->state.config.leader_election, self->state.config.internal_timeout,
                local_atom::value, submit_atom::value, key)
      .then([=](pb::Job& job) mutable { promise.deliver(std::move(job)); },
            [=](caf::error&) mutable {
              promise.deliver(make_error(errc::invalid_request, refusal));
            });
}

/// Places the submissions that arrived since the last batch against one index of the nodes, and
/// proposes each as one entry that already holds its placement (or none: it waits for a pass).
void place_submissions(self_pointer self) {
  auto& st = self->state;
  st.batch_scheduled = false;
  auto batch = std::move(st.submissions);
  st.submissions.clear();
  std::vector<pb::JobSpec> specs;
  specs.reserve(batch.size());
  for (auto& submission : batch)
    specs.push_back(std::move(submission.spec));
  auto plans = st.queue.plan_submissions(std::move(specs));
  for (size_t i = 0; i < plans.size(); ++i) {
    auto promise = batch[i].promise;
    if (!plans[i].refusal.empty()) {
      refuse_unless_known(self, batch[i].key, plans[i].refusal, promise);
      continue;
    }
    if (!plans[i].follows.empty()) {
      st.followers[plans[i].follows].push_back(promise);
      continue;
    }
    auto plan = std::make_shared<sched::pending_queue::submission_plan>(std::move(plans[i]));
    // The answer goes to the submission and to the retries that followed it.
    auto answer = [self, plan, promise](auto result) mutable {
      auto& st = self->state;
      st.queue.submission_answered(*plan);
      std::vector<caf::response_promise> promises{promise};
      const auto& key = plan->entry.job_submitted().spec().idempotency_key();
      if (auto f = st.followers.find(key); !key.empty() && f != st.followers.end()) {
        promises.insert(promises.end(), f->second.begin(), f->second.end());
        st.followers.erase(f);
      }
      for (auto& p : promises)
        p.deliver(result);
    };
    self->request(st.config.leader_election, st.config.internal_timeout, propose_atom::value,
                  status_atom::value, plan->entry)
        .then(
            [=](pb::Job& job) mutable {
              // Its placement refused by apply, it waits: the pass its update asked for ran while
              // its reservation still held, so another one now.
              if (job.state() == pb::JOB_PENDING)
                request_pass(self);
              answer(job);
            },
            [=](caf::error& err) mutable { answer(err); });
  }
}

/// Queues a submission; the batch runs once the mailbox holds no more of them.
caf::result<pb::Job> submit(self_pointer self, pb::JobSpec& spec) {
  auto& st = self->state;
  auto promise = self->make_response_promise();
  auto key = spec.idempotency_key();
  st.submissions.push_back({std::move(spec), promise, std::move(key)});
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

/// Replaces the nodes and pending jobs with leader_election's view, then passes. The view is the
/// committed state when it is answered; updates that arrive before it are older (it overwrites
/// them), those after it newer. A master that installed a snapshot got no updates for what it
/// covered, so this runs at start and whenever this master starts to lead.
void reload(self_pointer self) {
  self->request(self->state.config.leader_election, self->state.config.internal_timeout,
                view_atom::value)
      .then(
          [=](const pb::ClusterState& view) {
            self->state.queue.reload(view);
            request_pass(self);
          },
          [](caf::error& err) {
            log::error("scheduler", "cannot read the cluster state",
                       {{"error", error_message(err)}});
          });
}

caf::behavior scheduler(self_pointer self, scheduler_config config) {
  self->state.config = std::move(config);
  self->state.queue = sched::pending_queue{self->state.config.max_placements_per_pass};
  self->send(self->state.config.leader_election, subscribe_atom::value,
             caf::actor_cast<caf::actor>(self));
  reload(self);
  self->delayed_send(self, retention_period(self->state.config.job_retention), expire_atom::value);
  return {
      [=](expire_atom) { expire_old_jobs(self); },
      [=](role_atom, bool leading, const std::string&, uint64_t) {
        bool became_leader = leading && !self->state.leading;
        self->state.leading = leading;
        if (became_leader)
          reload(self); // a snapshot this master installed came without updates
      },
      [=](schedule_atom) { pass(self); },
      [=](tick_atom) {
        self->state.wakeup_at_ms = 0;
        request_pass(self);
      },
      [=](job_update_atom, const pb::Job& job) {
        // A job that ends frees room: its node's update asks for the pass.
        if (self->state.queue.track(job))
          request_pass(self);
      },
      [=](node_update_atom, const pb::Node& node) {
        if (self->state.queue.update_node(node))
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
