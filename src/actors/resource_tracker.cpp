#include "actors/resource_tracker.hpp"

#include <chrono>
#include <memory>
#include <optional>

#include <caf/all.hpp>
#include <fmt/format.h>

#include "actors/internal_atoms.hpp"
#include "claud/protocol.hpp"
#include "log/log.hpp"
#include "sched/reconcile.hpp"
#include "sched/slave_registry.hpp"

namespace claud {

namespace {

struct resource_tracker_state {
  resource_tracker_config config;
  sched::slave_registry<caf::actor> slaves{0}; // replaced with the configured timeout
  bool starts_scheduled = false;
  uint64_t leadership = 0; // counts terms of leadership, so a stale grace timer is ignored
  static inline const char* name = "resource_tracker";
};

using self_pointer = caf::stateful_actor<resource_tracker_state>*;

/// The registry's clock: the actor clock's milliseconds (only differences matter).
int64_t clock_ms(self_pointer self) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             self->clock().now().time_since_epoch())
      .count();
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

/// Sends a slave its starts, then its kill.
void send(self_pointer self, sched::slave_registry<caf::actor>::message message) {
  if (message.starts.jobs_size() > 0)
    self->send(message.to, start_atom::value, std::move(message.starts));
  if (message.kill)
    self->send(message.to, kill_atom::value, message.kill->job_id, message.kill->attempt);
}

/// Sends every queued start, one message per slave.
void send_starts(self_pointer self) {
  self->state.starts_scheduled = false;
  for (auto& message : self->state.slaves.take_starts())
    send(self, std::move(message));
}

/// The flush comes after the updates already in the mailbox: a commit places jobs in bursts, and
/// each slave gets the starts of a burst in one message.
void schedule_starts(self_pointer self) {
  auto& st = self->state;
  if (st.slaves.starts_queued() && !st.starts_scheduled) {
    st.starts_scheduled = true;
    self->send(self, flush_atom::value);
  }
}

void send_kill(self_pointer self, const std::string& node_id, const std::string& job_id,
               uint32_t attempt) {
  if (auto message = self->state.slaves.kill(node_id, job_id, attempt))
    send(self, std::move(*message));
}

void stop_unexplained(self_pointer self, const std::string& node_id, const std::string& job_id,
                      uint32_t attempt) {
  log::warn("tracker", "stopping a process no committed decision explains",
            {{"node", node_id}, {"job", job_id}, {"attempt", std::to_string(attempt)}});
  send_kill(self, node_id, job_id, attempt);
}

/// Brings the committed state and what a (re)registered slave really runs into agreement.
void reconcile(self_pointer self, const std::string& node_id, const caf::actor& supervisor,
               const pb::SlaveReport& report, const pb::JobList& jobs) {
  auto& slaves = self->state.slaves;
  auto plan = sched::reconcile(node_id, report, jobs, slaves.told_since_report(node_id));
  slaves.registration_reconciled(node_id, supervisor);
  for (auto& entry : plan.proposals)
    propose(self, std::move(entry));
  for (const auto& kill : plan.kills)
    stop_unexplained(self, node_id, kill.job_id, kill.attempt);
  for (const auto& lost : plan.given_up)
    send_kill(self, node_id, lost.job_id, lost.attempt);
  for (const auto& job : plan.starts)
    self->state.slaves.queue_start(job);
  schedule_starts(self);
}

/// A slave reports running an attempt the state refused to start: a start that reached it late
/// (held in a connection while the leader gave the attempt up) or a copy it should not have. No
/// committed decision explains it, so it is stopped, unless the state does run it there (a
/// repeated report of a start already committed).
void stop_if_unexplained(self_pointer self, const std::string& node_id,
                         const pb::JobReport& report) {
  const auto& config = self->state.config;
  self->request(config.leader_election, config.internal_timeout, local_atom::value,
                status_atom::value, report.job_id())
      .then(
          [=](const pb::Job& job) {
            if (!sched::is_current_attempt(&job, node_id, report.attempt()))
              stop_unexplained(self, node_id, report.job_id(), report.attempt());
          },
          [=](caf::error&) { // not in the state at all
            stop_unexplained(self, node_id, report.job_id(), report.attempt());
          });
}

/// Logs, on the master's side, a registration refused because its id is another live node's.
caf::error refuse_identity(const std::string& node_id, const pb::Node& claimant, std::string why) {
  log::warn("tracker", "refused a registration under a live node's id",
            {{"node", node_id}, {"address", claimant.address()}, {"error", why}});
  return make_error(errc::conflict, std::move(why));
}

caf::result<caf::unit_t> register_slave(self_pointer self, pb::SlaveReport& report,
                                        caf::actor& supervisor) {
  auto node_id = report.node().id();
  if (node_id.empty() || !supervisor)
    return make_error(errc::invalid_request, "a registration needs a node id and a supervisor");
  auto admitted = self->state.slaves.admit(report.node(), supervisor, clock_ms(self));
  if (!admitted.refusal.empty())
    return refuse_identity(node_id, report.node(), admitted.refusal);
  if (admitted.replaced)
    self->demonitor(*admitted.replaced);
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
            self->state.slaves.registration_settled(node_id, supervisor, clock_ms(self));
            promise.deliver(caf::unit);
            const auto& config = self->state.config;
            self->request(config.leader_election, config.internal_timeout, local_atom::value,
                          jobs_atom::value)
                .then(
                    [=](const pb::JobList& jobs) {
                      reconcile(self, node_id, supervisor, report, jobs);
                    },
                    [=](caf::error& err) {
                      self->state.slaves.registration_reconciled(node_id, supervisor);
                      log::warn("tracker", "cannot reconcile",
                                {{"node", node_id}, {"error", error_message(err)}});
                    });
          },
          [=](caf::error& err) mutable {
            if (has_code(err, errc::conflict)) { // the state holds its id as another live node
              if (self->state.slaves.forget(node_id, supervisor))
                self->demonitor(supervisor);
              err = refuse_identity(node_id, report.node(), error_message(err));
            } else {
              self->state.slaves.registration_settled(node_id, supervisor, clock_ms(self));
              self->state.slaves.registration_reconciled(node_id, supervisor);
            }
            promise.deliver(std::move(err));
          });
  return promise;
}

/// Commits a slave's batch of reports, one entry each; answered once all are, with the first
/// error unless every one committed or was already overtaken by the state.
caf::result<caf::unit_t> job_reports(self_pointer self, const std::string& node_id,
                                     const pb::SlaveReport& reports) {
  self->state.slaves.heard(node_id, clock_ms(self));
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
                  sched::entry_from_report(node_id, report))
        .then([=](const std::string&) mutable { answered(caf::error{}); },
              [=](caf::error& err) mutable {
                if (report.running() && has_code(err, errc::conflict))
                  stop_if_unexplained(self, node_id, report);
                answered(std::move(err));
              });
  return promise;
}

/// Forgets the slave and commits its loss: its jobs become lost.
void lose_slave(self_pointer self,
                std::optional<sched::slave_registry<caf::actor>::lost_slave> lost) {
  if (!lost)
    return;
  self->demonitor(lost->connection);
  log::warn(
      "tracker", "slave lost",
      {{"node", lost->entry.node_lost().node_id()}, {"reason", lost->entry.node_lost().reason()}});
  propose(self, std::move(lost->entry));
}

void on_slave_down(self_pointer self, const caf::down_msg& down) {
  auto& slaves = self->state.slaves;
  auto node_id = slaves.node_of(caf::actor_cast<caf::actor>(down.source));
  if (!node_id.empty())
    lose_slave(self, slaves.lose(node_id, "its connection to the leader closed"));
}

/// A slave that is frozen or cut off keeps its connection open: only its silence tells. One that
/// comes back later registers again and is told to stop what no longer runs there.
void check_heartbeats(self_pointer self, uint64_t leadership) {
  auto& st = self->state;
  if (!st.slaves.leading() || leadership != st.leadership)
    return;
  for (auto& lost : st.slaves.lose_silent(clock_ms(self)))
    lose_slave(self, std::move(lost));
  self->delayed_send(self, st.config.slave_timeout / 4, tick_atom::value, leadership);
}

/// Slaves follow the leader: a master that starts leading gives them the grace period to register
/// with it; one that stops leading forgets them (they find the new leader).
void on_role(self_pointer self, bool leading) {
  auto& st = self->state;
  if (leading == st.slaves.leading())
    return;
  for (const auto& connection : st.slaves.set_leading(leading))
    self->demonitor(connection);
  if (leading) {
    self->delayed_send(self, st.config.registration_grace, grace_atom::value, ++st.leadership);
    self->delayed_send(self, st.config.slave_timeout / 4, tick_atom::value, st.leadership);
  }
}

/// After the grace period, alive nodes that never registered with this leader are lost, but for
/// those that announced themselves within it (on their way): they get one more grace period.
void end_grace(self_pointer self, uint64_t leadership) {
  if (!self->state.slaves.leading() || leadership != self->state.leadership)
    return;
  const auto& config = self->state.config;
  self->request(config.leader_election, config.internal_timeout, local_atom::value,
                nodes_atom::value)
      .then(
          [=](const pb::NodeList& nodes) {
            const auto& st = self->state;
            const auto grace = st.config.registration_grace;
            const auto since = clock_ms(self) - grace.count();
            bool spared = false;
            auto expected = [&](const std::string& id) {
              if (st.slaves.registered(id))
                return true;
              bool on_its_way = st.slaves.announced_since(id, since);
              spared |= on_its_way;
              return on_its_way;
            };
            for (auto& entry : sched::lost_after_grace(nodes, expected, grace.count()))
              propose(self, std::move(entry));
            if (spared)
              self->delayed_send(self, grace, grace_atom::value, leadership);
          },
          [](caf::error& err) {
            log::warn("tracker", "cannot check registrations", {{"error", error_message(err)}});
          });
}

caf::behavior resource_tracker(self_pointer self, resource_tracker_config config) {
  self->state.config = std::move(config);
  self->state.slaves = sched::slave_registry<caf::actor>{self->state.config.slave_timeout.count()};
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
        const auto* slave = self->state.slaves.find(node_id);
        if (!slave)
          return make_error(
              errc::unavailable,
              fmt::format("node {} that ran job {} is not connected; its output stays "
                          "in that node's data dir as jobs/{}.{}.stdout and .stderr",
                          node_id, request.job_id(), request.job_id(), request.attempt()));
        auto promise = self->make_response_promise();
        self->request(slave->connection, self->state.config.internal_timeout, logs_atom::value,
                      request)
            .then([=](pb::LogChunk& chunk) mutable { promise.deliver(std::move(chunk)); },
                  [=](caf::error& err) mutable { promise.deliver(std::move(err)); });
        return promise;
      },
      [=](kill_atom, const std::string& node_id, const std::string& job_id, uint32_t attempt) {
        send_kill(self, node_id, job_id, attempt);
      },
      [=](ping_atom, const std::string& node_id) -> caf::result<caf::unit_t> {
        auto& slaves = self->state.slaves;
        if (slaves.heard(node_id, clock_ms(self)))
          return caf::unit;
        slaves.announced(node_id, clock_ms(self)); // a slave on its way to register
        return make_error(errc::not_found, "not registered with this leader");
      },
      [=](nodes_atom, pb::NodeList& nodes) {
        // For `claud nodes`: how long ago each connected slave was last heard from.
        const auto now = clock_ms(self);
        for (auto& node : *nodes.mutable_nodes())
          if (const auto* slave = self->state.slaves.find(node.id()))
            node.set_heard_ms_ago(now - slave->last_heard_ms);
        return nodes;
      },
      [=](tick_atom, uint64_t leadership) { check_heartbeats(self, leadership); },
      [=](grace_atom, uint64_t leadership) { end_grace(self, leadership); },
      [=](role_atom, bool leading, const std::string&, uint64_t) { on_role(self, leading); },
      [=](job_update_atom, const pb::Job& job) {
        if (auto kill = self->state.slaves.on_job_update(job))
          send(self, std::move(*kill));
        schedule_starts(self);
      },
      [=](node_update_atom, const pb::Node&) {},
  };
}

} // namespace

caf::actor spawn_resource_tracker(caf::actor_system& system, resource_tracker_config config) {
  return system.spawn(resource_tracker, std::move(config));
}

} // namespace claud
