#include "actors/scheduler.hpp"

#include <algorithm>
#include <chrono>
#include <map>
#include <optional>
#include <set>

#include <caf/all.hpp>
#include <fmt/format.h>

#include "actors/internal_atoms.hpp"
#include "actors/wall_clock.hpp"
#include "claud/protocol.hpp"
#include "log/log.hpp"
#include "sched/node_ledger.hpp"
#include "sched/placement_index.hpp"

namespace claud {

namespace {

/// A job that waits to be placed, as the scheduler keeps it between passes.
struct pending_job {
  std::string id;
  pb::JobSpec spec;
  int64_t not_before_ms = 0; // a restart's backoff ends then
  std::string shape;         // shape_of(spec)
};

/// The pending jobs of one shape: what they ask for and under which constraints.
struct shape_count {
  pb::JobSpec spec; // one of them
  size_t jobs = 0;
};

/// A submission waiting for the next batch to place it.
struct submission {
  pb::JobSpec spec;
  caf::response_promise promise;
};

struct scheduler_state {
  scheduler_config config;
  sched::node_ledger nodes; // committed records and what proposals in flight will take
  std::map<uint64_t, pending_job> pending; // by job number: the oldest first
  // The shapes of the pending jobs: once each is known not to fit, a pass stops early instead of
  // visiting thousands of waiting jobs of the few shapes a batch has.
  std::map<std::string, shape_count> shapes;
  size_t restarting = 0; // pending jobs with a backoff (not_before_ms), whose ends a pass looks for
  std::vector<submission> submissions;
  bool batch_scheduled = false;
  int64_t wakeup_at_ms = 0; // a pass is scheduled for then (a restart's backoff ends), 0 if none
  bool leading = false;     // only the leader places jobs
  bool dirty = false;       // a pass is requested and not run yet
  // Pending jobs whose placement is proposed and not answered yet: a pass skips them. Passes do
  // not wait for each other's commits (the ledger holds what their proposals take), so room a
  // finished job frees is used within one commit, not after the previous pass's commit too.
  std::set<uint64_t> proposing;
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

/// How soon a pass follows a refused placement.
constexpr int64_t retry_after_refusal_ms = 100;

/// The misfits a pass compares later jobs with: a bound, so a pass stays linear in pending jobs
/// however many shapes of job wait.
constexpr size_t max_misfits_remembered = 16;

void schedule_wakeup(self_pointer self, int64_t at_ms, int64_t now) {
  auto& st = self->state;
  if (at_ms == 0 || (st.wakeup_at_ms != 0 && st.wakeup_at_ms <= at_ms && st.wakeup_at_ms > now))
    return;
  st.wakeup_at_ms = at_ms;
  self->delayed_send(self, std::chrono::milliseconds{at_ms - now}, tick_atom::value);
}

/// Proposes `entry` (`ask` is the proposal, e.g. (propose_atom, entry)), holding `spec`'s
/// resources on `node_id` (if any) in the ledger until the proposal is answered; `done` gets the
/// answer, a caf::expected<Answer>.
template<class Answer, class Done, class... Ask>
void propose_holding(self_pointer self, const std::string& node_id, const pb::JobSpec& spec,
                     Done done, Ask&&... ask) {
  auto& st = self->state;
  auto held = node_id.empty() ? 0 : st.nodes.reserve(node_id, spec);
  self->request(st.config.leader_election, st.config.internal_timeout, std::forward<Ask>(ask)...)
      .then(
          [=](Answer& answer) mutable {
            self->state.nodes.release(held);
            done(caf::expected<Answer>{std::move(answer)});
          },
          [=](caf::error& err) mutable {
            self->state.nodes.release(held);
            done(caf::expected<Answer>{std::move(err)});
          });
}

/// Proposes a pass's placement of pending job `number`.
void propose(self_pointer self, uint64_t number, pb::LogEntry entry, const pb::JobSpec& spec) {
  auto& st = self->state;
  st.proposing.insert(number);
  auto node_id = entry.job_placed().node_id();
  auto done = [self, number](caf::expected<std::string> answer) {
    self->state.proposing.erase(number);
    // Refused by apply (it no longer fits there, or the picture was behind): nothing changed, so
    // nothing else would bring the job back. Another pass shortly, not at once: a refusal that
    // repeats must not become a loop of entries.
    if (!answer) {
      log::debug("scheduler", "proposal not applied", {{"error", error_message(answer.error())}});
      auto now = now_ms();
      schedule_wakeup(self, now + retry_after_refusal_ms, now);
    }
  };
  propose_holding<std::string>(self, node_id, spec, done, propose_atom::value, std::move(entry));
}

/// What decides whether a job fits: its CPU, memory and constraints (in order, as
/// known_not_to_fit compares them). Keys and values are length-prefixed, so two different
/// constraint sets never share a shape.
std::string shape_of(const pb::JobSpec& spec) {
  auto shape = fmt::format("{}/{}", spec.cpu_millis(), spec.memory_bytes());
  for (const auto& c : spec.constraints())
    shape += fmt::format("/{}:{}{}{}:{}", c.key().size(), c.key(), c.negated() ? "!=" : "=",
                         c.value().size(), c.value());
  return shape;
}

/// Keeps `pending` in step with the committed state: leader_election sends every change of a job.
void track(scheduler_state& st, const pb::Job& job) {
  auto number = std::stoull(job.id()); // ids are decimal counters (cluster_state::submit)
  if (auto known = st.pending.find(number); known != st.pending.end()) {
    auto shape = st.shapes.find(known->second.shape);
    if (--shape->second.jobs == 0)
      st.shapes.erase(shape);
    st.restarting -= known->second.not_before_ms != 0 ? 1 : 0;
    st.pending.erase(known);
  }
  if (job.state() != pb::JOB_PENDING)
    return;
  auto shape = shape_of(job.spec());
  auto& count = st.shapes[shape];
  if (count.jobs++ == 0)
    count.spec = job.spec();
  st.restarting += job.not_before_ms() != 0 ? 1 : 0;
  st.pending[number] = {job.id(), job.spec(), job.not_before_ms(), std::move(shape)};
}

/// Whether an earlier job of this pass that fit nowhere asked for no more than `spec` and under the
/// same constraints: then `spec` cannot fit either, and placing it again would cost a search.
bool known_not_to_fit(const std::vector<const pb::JobSpec*>& misfits, const pb::JobSpec& spec) {
  auto same_constraints = [&](const pb::JobSpec& other) {
    if (other.constraints_size() != spec.constraints_size())
      return false;
    for (int i = 0; i < spec.constraints_size(); ++i) {
      const auto& a = spec.constraints(i);
      const auto& b = other.constraints(i);
      if (a.key() != b.key() || a.value() != b.value() || a.negated() != b.negated())
        return false;
    }
    return true;
  };
  for (const auto* misfit : misfits)
    if (misfit->cpu_millis() <= spec.cpu_millis() && misfit->memory_bytes() <= spec.memory_bytes()
        && same_constraints(*misfit))
      return true;
  return false;
}

/// Whether every shape of pending job is known not to fit: then no later job of the pass can.
bool nothing_else_fits(const scheduler_state& st, const std::vector<const pb::JobSpec*>& misfits) {
  if (st.shapes.size() > max_misfits_remembered)
    return false;
  for (const auto& [key, shape] : st.shapes)
    if (!known_not_to_fit(misfits, shape.spec))
      return false;
  return true;
}

/// Places the pending jobs oldest first against one index of the nodes. A job that fits nowhere
/// waits; why is worked out when someone asks (state_queries), since the numbers in it change with
/// every job that starts or ends and would otherwise cost log entries all the time.
void pass(self_pointer self) {
  auto& st = self->state;
  st.dirty = false;
  const int64_t now = now_ms();
  int64_t next_wakeup = 0;
  // One index of the nodes for the whole pass: each placement reserves its resources in it, so
  // the next job sees what is left, without a scan of every node per job. Proposals of
  // submissions and of earlier passes may be in flight: their reservations are in the ledger.
  std::optional<sched::placement_index> index;
  std::vector<const pb::JobSpec*> misfits;
  size_t placed = 0;
  bool placing = true; // false once nothing more can be placed in this pass
  for (const auto& [number, job] : st.pending) {
    // Restarts wait out their backoff; a timer brings the scheduler back when the first one ends.
    if (job.not_before_ms > now) {
      if (next_wakeup == 0 || job.not_before_ms < next_wakeup)
        next_wakeup = job.not_before_ms;
      continue;
    }
    if (!placing) {
      if (st.restarting == 0)
        break; // no backoff left to look for
      continue;
    }
    if (st.proposing.count(number) || known_not_to_fit(misfits, job.spec))
      continue;
    if (placed == st.config.max_placements_per_pass) {
      request_pass(self); // the rest in the next pass
      placing = false;
      continue;
    }
    if (!index)
      index.emplace(st.nodes.nodes());
    auto where = index->place(job.spec);
    if (where.node_id.empty()) {
      if (misfits.size() < max_misfits_remembered)
        misfits.push_back(&job.spec);
      placing = !nothing_else_fits(st, misfits);
      continue;
    }
    index->reserve(where.node_id, job.spec);
    pb::LogEntry entry;
    entry.mutable_job_placed()->set_job_id(job.id);
    entry.mutable_job_placed()->set_node_id(where.node_id);
    propose(self, number, std::move(entry), job.spec);
    ++placed;
  }
  schedule_wakeup(self, next_wakeup, now);
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
    auto done = [self, promise](caf::expected<pb::Job> job) mutable {
      if (!job) {
        promise.deliver(std::move(job.error()));
        return;
      }
      // Its placement refused by apply, it waits: the pass its update asked for ran while its
      // reservation still held, so another one now.
      if (job->state() == pb::JOB_PENDING)
        request_pass(self);
      promise.deliver(std::move(*job));
    };
    propose_holding<pb::Job>(self, where.node_id, spec, done, propose_atom::value,
                             status_atom::value, std::move(entry));
  }
}

/// Queues a submission; the batch runs once the mailbox holds no more of them.
caf::result<pb::Job> submit(self_pointer self, pb::JobSpec& spec) {
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

/// Replaces the nodes and pending jobs with leader_election's view, then passes. The view is the
/// committed state when it is answered; updates that arrive before it are older (it overwrites
/// them), those after it newer. A master that installed a snapshot got no updates for what it
/// covered, so this runs at start and whenever this master starts to lead.
void reload(self_pointer self) {
  self->request(self->state.config.leader_election, self->state.config.internal_timeout,
                view_atom::value)
      .then(
          [=](const pb::ClusterState& view) {
            auto& st = self->state;
            st.nodes.reset(view.nodes());
            st.pending.clear();
            st.shapes.clear();
            st.restarting = 0;
            for (const auto& [id, job] : view.jobs())
              track(st, job);
            request_pass(self);
          },
          [](caf::error& err) {
            log::error("scheduler", "cannot read the cluster state",
                       {{"error", error_message(err)}});
          });
}

caf::behavior scheduler(self_pointer self, scheduler_config config) {
  self->state.config = std::move(config);
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
        track(self->state, job);
        if (job.state() == pb::JOB_PENDING)
          request_pass(self); // a job that ends frees room: its node's update asks for the pass
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
