#include "actors/resource_tracker.hpp"

#include <algorithm>
#include <map>
#include <set>

#include <caf/all.hpp>
#include <fmt/format.h>

#include "actors/internal_atoms.hpp"
#include "claud/protocol.hpp"
#include "log/log.hpp"
#include "state/job_states.hpp"

namespace claud {

namespace {

struct slave_connection {
  pb::Node node; // as it registered
  caf::actor supervisor;
  caf::actor_clock::time_point last_heard; // registration, ping or report
};

struct resource_tracker_state {
  resource_tracker_config config;
  std::map<std::string, slave_connection> slaves;    // by node id
  std::map<std::string, pb::StartJob> queued_starts; // by node id, until the next flush
  bool starts_scheduled = false;
  bool leading = false;
  uint64_t leadership = 0; // counts terms of leadership, so a stale grace timer is ignored
  static inline const char* name = "resource_tracker";
};

using self_pointer = caf::stateful_actor<resource_tracker_state>*;

pb::LogEntry entry_from_report(const std::string& node_id, const pb::JobReport& report) {
  pb::LogEntry entry;
  if (report.running()) {
    auto* op = entry.mutable_job_started();
    op->set_job_id(report.job_id());
    op->set_node_id(node_id);
    op->set_attempt(report.attempt());
  } else {
    auto* op = entry.mutable_job_finished();
    op->set_job_id(report.job_id());
    op->set_node_id(node_id);
    op->set_attempt(report.attempt());
    op->set_has_exit_code(report.has_exit_code());
    op->set_exit_code(report.exit_code());
    op->set_term_signal(report.term_signal());
    op->set_reason(report.reason());
    if (report.started_at_ms() != 0) {
      op->set_started(true);
      op->set_ran_for_ms(std::max<int64_t>(0, report.finished_at_ms() - report.started_at_ms()));
    }
  }
  return entry;
}

/// Proposes `entry`; a no-op result (the state moved on) is fine and only logged.
void propose(self_pointer self, pb::LogEntry entry) {
  const auto& config = self->state.config;
  self->request(config.leader_election, config.internal_timeout, propose_atom::value,
                std::move(entry))
      .then([](const std::string&) {},
            [](caf::error& err) {
              log::debug("tracker", "proposal not applied", {{"error", error_message(err)}});
            });
}

/// Sends every queued start, one message per slave.
void send_starts(self_pointer self) {
  auto& st = self->state;
  st.starts_scheduled = false;
  auto queued = std::move(st.queued_starts);
  st.queued_starts.clear();
  for (auto& [node_id, batch] : queued)
    if (auto i = st.slaves.find(node_id); i != st.slaves.end())
      self->send(i->second.supervisor, start_atom::value, std::move(batch));
}

/// Queues the job's start for its slave. The flush comes after the updates already in the
/// mailbox: a commit places jobs in bursts, and each slave gets the starts of a burst in one
/// message.
void send_start(self_pointer self, const pb::Job& job) {
  auto& st = self->state;
  if (!st.slaves.count(job.node_id()))
    return; // it is told when it registers again
  auto* start = st.queued_starts[job.node_id()].add_jobs();
  start->set_id(job.id());
  start->set_attempts(job.attempts());
  *start->mutable_spec() = job.spec();
  if (!st.starts_scheduled) {
    st.starts_scheduled = true;
    self->send(self, flush_atom::value);
  }
}

void send_kill(self_pointer self, const std::string& node_id, const std::string& job_id,
               uint32_t attempt) {
  auto i = self->state.slaves.find(node_id);
  if (i == self->state.slaves.end())
    return;
  if (self->state.queued_starts.count(node_id))
    send_starts(self); // a kill must not overtake the start of the job it kills
  self->send(i->second.supervisor, kill_atom::value, job_id, attempt);
}

/// Brings the committed state and what a (re)registered slave really runs into agreement.
void reconcile(self_pointer self, const std::string& node_id, const pb::SlaveReport& report,
               const pb::JobList& jobs) {
  std::map<std::string, const pb::Job*> assigned; // jobs the state has on this node
  for (const auto& job : jobs.jobs())
    if (state::holds_resources(job.state()) && job.node_id() == node_id)
      assigned[job.id()] = &job;
  std::set<std::string> reported;
  for (const auto& r : report.jobs()) {
    auto i = assigned.find(r.job_id());
    bool current = i != assigned.end() && i->second->attempts() == r.attempt();
    if (current) {
      reported.insert(r.job_id());
      if (r.running() && i->second->state() == pb::JOB_PLACED)
        propose(self, entry_from_report(node_id, r));
    } else if (r.running()) {
      log::warn("tracker", "stopping a process no committed decision explains",
                {{"node", node_id}, {"job", r.job_id()}, {"attempt", std::to_string(r.attempt())}});
      send_kill(self, node_id, r.job_id(), r.attempt());
    }
  }
  for (const auto& [id, job] : assigned) {
    if (reported.count(id))
      continue;
    if (job->state() == pb::JOB_PLACED) {
      send_start(self, *job);
    } else {
      pb::LogEntry entry;
      entry.mutable_job_lost()->set_job_id(id);
      entry.mutable_job_lost()->set_reason(
          fmt::format("slave {} no longer runs it (it restarted)", node_id));
      propose(self, std::move(entry));
    }
  }
}

/// Logs, on the master's side, a registration refused because its id is another live node's.
caf::error refuse_identity(const std::string& node_id, const pb::Node& claimant, std::string why) {
  log::warn("tracker", "refused a registration under a live node's id",
            {{"node", node_id}, {"address", claimant.address()}, {"error", why}});
  return make_error(errc::conflict, std::move(why));
}

/// Forgets the connection of `supervisor` as node `node_id`, if that is still the one known.
void forget_connection(self_pointer self, const std::string& node_id,
                       const caf::actor& supervisor) {
  auto i = self->state.slaves.find(node_id);
  if (i != self->state.slaves.end() && i->second.supervisor == supervisor) {
    self->demonitor(supervisor);
    self->state.slaves.erase(i);
  }
}

caf::result<caf::unit_t> register_slave(self_pointer self, pb::SlaveReport& report,
                                        caf::actor& supervisor) {
  auto node_id = report.node().id();
  if (node_id.empty() || !supervisor)
    return make_error(errc::invalid_request, "a registration needs a node id and a supervisor");
  auto& slaves = self->state.slaves;
  if (auto old = slaves.find(node_id);
      old != slaves.end() && old->second.supervisor != supervisor) {
    if (!state::same_incarnation(old->second.node, report.node()))
      return refuse_identity(node_id, report.node(), state::identity_conflict(old->second.node));
    self->demonitor(old->second.supervisor);
  }
  slaves[node_id] = {report.node(), supervisor, self->clock().now()};
  self->monitor(supervisor);
  log::info("tracker", "slave registered",
            {{"node", node_id}, {"address", report.node().address()}});
  pb::LogEntry entry;
  *entry.mutable_node_registered()->mutable_node() = report.node();
  auto promise = self->make_response_promise();
  const auto& config = self->state.config;
  self->request(config.leader_election, config.internal_timeout, propose_atom::value, entry)
      .then(
          [=](const std::string&) mutable {
            promise.deliver(caf::unit);
            const auto& config = self->state.config;
            self->request(config.leader_election, config.internal_timeout, local_atom::value,
                          jobs_atom::value)
                .then([=](const pb::JobList& jobs) { reconcile(self, node_id, report, jobs); },
                      [=](caf::error& err) {
                        log::warn("tracker", "cannot reconcile",
                                  {{"node", node_id}, {"error", error_message(err)}});
                      });
          },
          [=](caf::error& err) mutable {
            if (has_code(err, errc::conflict)) { // the state holds its id as another live node
              forget_connection(self, node_id, supervisor);
              err = refuse_identity(node_id, report.node(), error_message(err));
            }
            promise.deliver(std::move(err));
          });
  return promise;
}

/// Commits a slave's batch of reports, one entry each; answered once all are, with the first
/// error unless every one committed or was already overtaken by the state.
caf::result<caf::unit_t> job_reports(self_pointer self, const std::string& node_id,
                                     const pb::SlaveReport& reports) {
  if (auto i = self->state.slaves.find(node_id); i != self->state.slaves.end())
    i->second.last_heard = self->clock().now();
  if (reports.jobs_size() == 0)
    return caf::unit;
  struct outcome {
    int unanswered;
    caf::error error;
  };
  auto batch = std::make_shared<outcome>(outcome{reports.jobs_size(), {}});
  auto promise = self->make_response_promise();
  auto answered = [batch, promise](caf::error err) mutable {
    // A conflict means the state has moved past this report: it is acknowledged.
    if (err && !has_code(err, errc::conflict) && !batch->error)
      batch->error = std::move(err);
    if (--batch->unanswered > 0)
      return;
    if (batch->error)
      promise.deliver(std::move(batch->error));
    else
      promise.deliver(caf::unit);
  };
  const auto& config = self->state.config;
  for (const auto& report : reports.jobs())
    self->request(config.leader_election, config.internal_timeout, propose_atom::value,
                  entry_from_report(node_id, report))
        .then([=](const std::string&) mutable { answered(caf::error{}); },
              [=](caf::error& err) mutable { answered(std::move(err)); });
  return promise;
}

void on_job_update(self_pointer self, const pb::Job& job) {
  if (!state::holds_resources(job.state()))
    return;
  if (job.kill_requested())
    send_kill(self, job.node_id(), job.id(), job.attempts());
  else if (job.state() == pb::JOB_PLACED)
    send_start(self, job);
}

/// Forgets the slave and commits its loss: its jobs become lost.
void lose_slave(self_pointer self, std::string node_id, const std::string& reason) {
  auto i = self->state.slaves.find(node_id);
  if (i == self->state.slaves.end())
    return;
  self->demonitor(i->second.supervisor);
  self->state.slaves.erase(i);
  log::warn("tracker", "slave lost", {{"node", node_id}, {"reason", reason}});
  pb::LogEntry entry;
  entry.mutable_node_lost()->set_node_id(node_id);
  entry.mutable_node_lost()->set_reason(reason);
  propose(self, std::move(entry));
}

void on_slave_down(self_pointer self, const caf::down_msg& down) {
  for (const auto& [node_id, slave] : self->state.slaves)
    if (slave.supervisor.address() == down.source) {
      lose_slave(self, node_id, "its connection to the leader closed");
      return;
    }
}

/// A slave that is frozen or cut off keeps its connection open: only its silence tells. One that
/// comes back later registers again and is told to stop what no longer runs there.
void check_heartbeats(self_pointer self, uint64_t leadership) {
  auto& st = self->state;
  if (!st.leading || leadership != st.leadership)
    return;
  auto now = self->clock().now();
  std::vector<std::string> silent;
  for (const auto& [node_id, slave] : st.slaves)
    if (now - slave.last_heard > st.config.slave_timeout)
      silent.push_back(node_id);
  for (const auto& node_id : silent)
    lose_slave(
        self, node_id,
        fmt::format("no heartbeat for {} ms (frozen or cut off)", st.config.slave_timeout.count()));
  self->delayed_send(self, st.config.slave_timeout / 4, tick_atom::value, leadership);
}

/// Slaves follow the leader: a master that starts leading gives them the grace period to register
/// with it; one that stops leading forgets them (they find the new leader).
void on_role(self_pointer self, bool leading) {
  auto& st = self->state;
  if (leading == st.leading)
    return;
  st.leading = leading;
  for (const auto& [node_id, slave] : st.slaves)
    self->demonitor(slave.supervisor);
  st.slaves.clear();
  if (leading) {
    self->delayed_send(self, st.config.registration_grace, grace_atom::value, ++st.leadership);
    self->delayed_send(self, st.config.slave_timeout / 4, tick_atom::value, st.leadership);
  }
}

/// After the grace period, alive nodes that never registered with this leader are lost.
void end_grace(self_pointer self, uint64_t leadership) {
  if (!self->state.leading || leadership != self->state.leadership)
    return;
  const auto& config = self->state.config;
  self->request(config.leader_election, config.internal_timeout, local_atom::value,
                nodes_atom::value)
      .then(
          [=](const pb::NodeList& nodes) {
            for (const auto& node : nodes.nodes()) {
              if (node.state() != pb::NODE_ALIVE || !state::runs_jobs(node.role())
                  || self->state.slaves.count(node.id()))
                continue;
              pb::LogEntry entry;
              entry.mutable_node_lost()->set_node_id(node.id());
              entry.mutable_node_lost()->set_reason(
                  fmt::format("it did not register within {} ms of this master starting to lead",
                              self->state.config.registration_grace.count()));
              propose(self, std::move(entry));
            }
          },
          [](caf::error& err) {
            log::warn("tracker", "cannot check registrations", {{"error", error_message(err)}});
          });
}

caf::behavior resource_tracker(self_pointer self, resource_tracker_config config) {
  self->state.config = std::move(config);
  self->send(self->state.config.leader_election, subscribe_atom::value,
             caf::actor_cast<caf::actor>(self));
  self->set_down_handler([=](caf::down_msg& down) { on_slave_down(self, down); });
  return {
      [=](flush_atom) { send_starts(self); },
      [=](register_atom, pb::SlaveReport& report, caf::actor& supervisor) {
        return register_slave(self, report, supervisor);
      },
      [=](report_atom, const std::string& node_id, const pb::SlaveReport& reports) {
        return job_reports(self, node_id, reports);
      },
      [=](logs_atom, const pb::LogRequest& request,
          const std::string& node_id) -> caf::result<pb::LogChunk> {
        auto i = self->state.slaves.find(node_id);
        if (i == self->state.slaves.end())
          return make_error(
              errc::unavailable,
              fmt::format("node {} that ran job {} is not connected; its output stays "
                          "in that node's data dir as jobs/{}.{}.stdout and .stderr",
                          node_id, request.job_id(), request.job_id(), request.attempt()));
        auto promise = self->make_response_promise();
        self->request(i->second.supervisor, self->state.config.internal_timeout, logs_atom::value,
                      request)
            .then([=](pb::LogChunk& chunk) mutable { promise.deliver(std::move(chunk)); },
                  [=](caf::error& err) mutable { promise.deliver(std::move(err)); });
        return promise;
      },
      [=](kill_atom, const std::string& node_id, const std::string& job_id, uint32_t attempt) {
        send_kill(self, node_id, job_id, attempt);
      },
      [=](ping_atom, const std::string& node_id) -> caf::result<caf::unit_t> {
        auto i = self->state.slaves.find(node_id);
        if (i == self->state.slaves.end())
          return make_error(errc::not_found, "not registered with this leader");
        i->second.last_heard = self->clock().now();
        return caf::unit;
      },
      [=](tick_atom, uint64_t leadership) { check_heartbeats(self, leadership); },
      [=](grace_atom, uint64_t leadership) { end_grace(self, leadership); },
      [=](role_atom, bool leading, const std::string&, uint64_t) { on_role(self, leading); },
      [=](job_update_atom, const pb::Job& job) { on_job_update(self, job); },
      [=](node_update_atom, const pb::Node&) {},
  };
}

} // namespace

caf::actor spawn_resource_tracker(caf::actor_system& system, resource_tracker_config config) {
  return system.spawn(resource_tracker, std::move(config));
}

} // namespace claud
