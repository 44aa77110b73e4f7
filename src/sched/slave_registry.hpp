#pragma once
// The leader's registry of connected slaves, without CAF or a clock (the resource_tracker actor
// and the simulator drive it; `Connection` is how the host reaches a slave: a caf::actor there, a
// simulated slave's address here). It decides:
//  - who may register: an id alive here with another incarnation is refused (its identity is not
//    this claimant's to take); the same incarnation on a new connection replaces the old one;
//  - who is lost: a slave silent (no ping, report or registration) for longer than the timeout is
//    forgotten and its loss is to be committed — a frozen or cut-off slave keeps its connection
//    open, so only its silence tells. A slave whose registration is not answered yet is waiting
//    for this leader, not silent: its silence counts from the answer (registration_settled), so a
//    leader slow to commit never loses the slaves that wait for it;
//  - what a registration's report can know: starts sent to the slave while one of its
//    registrations waits for reconciliation may postdate the report, so reconciliation must not
//    take their absence from it for a restart (told_since_report);
//  - what each slave is told, in order: the starts of a burst of committed placements are queued
//    and taken as one batch per slave, and a kill takes that slave's queued starts first, so it
//    never overtakes the start of the job it kills.
// Slaves follow the leader: a leadership that starts or ends forgets every slave (they register
// with the new leader). Times are milliseconds on whatever clock the host gives.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "cluster.pb.h"
#include "sched/reconcile.hpp"
#include "state/job_states.hpp"
#include "wire.pb.h"

namespace claud::sched {

template<class Connection>
class slave_registry {
public:
  struct slave {
    pb::Node node; // as it registered
    Connection connection;
    int64_t last_heard_ms = 0;     // registration, ping or report
    bool settled = false;          // its registration was answered; silence counts from then
    int unreconciled = 0;          // registrations over this connection not reconciled yet
    attempt_set told_since_report; // starts sent while one was
  };
  /// What to send one slave now: its queued starts (if any), then the kill (if any).
  struct message {
    Connection to;
    pb::StartJob starts;
    std::optional<attempt_ref> kill;
  };
  /// A slave given up: forget its connection and commit `entry` (a NodeLost).
  struct lost_slave {
    Connection connection;
    pb::LogEntry entry;
  };

  explicit slave_registry(int64_t slave_timeout_ms) : slave_timeout_ms_(slave_timeout_ms) {}

  /// Starts or ends this master's leadership; returns the connections it forgot.
  std::vector<Connection> set_leading(bool leading) {
    std::vector<Connection> forgotten;
    if (leading == leading_)
      return forgotten;
    leading_ = leading;
    for (auto& [id, s] : slaves_)
      forgotten.push_back(std::move(s.connection));
    slaves_.clear();
    queued_.clear();
    announced_.clear();
    return forgotten;
  }
  bool leading() const {
    return leading_;
  }

  struct admission {
    std::string refusal;                // non-empty: refused, with why (nothing changed)
    std::optional<Connection> replaced; // the node's previous connection, to let go
  };
  /// A slave registers as `node` over `connection`.
  admission admit(const pb::Node& node, const Connection& connection, int64_t now_ms) {
    admission out;
    if (auto old = slaves_.find(node.id());
        old != slaves_.end() && !(old->second.connection == connection)) {
      if (!state::same_incarnation(old->second.node, node)) {
        out.refusal = state::identity_conflict(old->second.node);
        return out;
      }
      out.replaced = old->second.connection;
    }
    auto& s = slaves_[node.id()];
    if (out.replaced || !(s.connection == connection))
      s = slave{};
    s.node = node;
    s.connection = connection;
    s.last_heard_ms = now_ms;
    s.settled = false;
    ++s.unreconciled;
    return out;
  }
  /// Starts sent to `node_id` since the report of a registration not reconciled yet was made.
  const attempt_set& told_since_report(const std::string& node_id) const {
    static const attempt_set none;
    auto i = slaves_.find(node_id);
    return i == slaves_.end() ? none : i->second.told_since_report;
  }
  /// A registration over `connection` was reconciled, or failed: once none waits, the starts
  /// told since are forgotten.
  void registration_reconciled(const std::string& node_id, const Connection& connection) {
    auto i = slaves_.find(node_id);
    if (i == slaves_.end() || !(i->second.connection == connection) || i->second.unreconciled == 0)
      return;
    if (--i->second.unreconciled == 0)
      i->second.told_since_report.clear();
  }
  /// The registration over `connection` was answered (committed, or failed for a reason other
  /// than a refusal): from now on its silence counts.
  void registration_settled(const std::string& node_id, const Connection& connection,
                            int64_t now_ms) {
    auto i = slaves_.find(node_id);
    if (i != slaves_.end() && i->second.connection == connection) {
      i->second.settled = true;
      i->second.last_heard_ms = now_ms;
    }
  }
  /// Forgets `node_id` if `connection` is still the one it registered with; returns whether.
  bool forget(const std::string& node_id, const Connection& connection) {
    auto i = slaves_.find(node_id);
    if (i == slaves_.end() || !(i->second.connection == connection))
      return false;
    slaves_.erase(i);
    return true;
  }
  /// A ping or report from `node_id`; returns whether it is registered.
  bool heard(const std::string& node_id, int64_t now_ms) {
    auto i = slaves_.find(node_id);
    if (i == slaves_.end())
      return false;
    i->second.last_heard_ms = now_ms;
    return true;
  }
  const slave* find(const std::string& node_id) const {
    auto i = slaves_.find(node_id);
    return i == slaves_.end() ? nullptr : &i->second;
  }
  bool registered(const std::string& node_id) const {
    return slaves_.count(node_id) != 0;
  }
  /// A slave not registered here said it is on its way (it reached this leader and is gathering
  /// its report, which waits behind whatever its supervisor is doing): a new leader's grace must
  /// not give it up for being slow to register.
  void announced(const std::string& node_id, int64_t now_ms) {
    if (!slaves_.count(node_id))
      announced_[node_id] = now_ms;
  }
  /// Whether `node_id`, not registered, announced itself at or after `since_ms`.
  bool announced_since(const std::string& node_id, int64_t since_ms) const {
    auto a = announced_.find(node_id);
    return !registered(node_id) && a != announced_.end() && a->second >= since_ms;
  }
  /// The node registered over `connection`, "" if none.
  std::string node_of(const Connection& connection) const {
    for (const auto& [id, s] : slaves_)
      if (s.connection == connection)
        return id;
    return "";
  }

  /// Gives up `node_id` (its connection closed, or it went silent) for `reason`.
  std::optional<lost_slave> lose(const std::string& node_id, const std::string& reason) {
    auto i = slaves_.find(node_id);
    if (i == slaves_.end())
      return std::nullopt;
    lost_slave out{std::move(i->second.connection), {}};
    slaves_.erase(i);
    queued_.erase(node_id);
    out.entry.mutable_node_lost()->set_node_id(node_id);
    out.entry.mutable_node_lost()->set_reason(reason);
    return out;
  }
  /// Gives up every slave silent for longer than the timeout.
  std::vector<lost_slave> lose_silent(int64_t now_ms) {
    std::vector<std::string> silent;
    for (const auto& [id, s] : slaves_)
      if (s.settled && now_ms - s.last_heard_ms > slave_timeout_ms_)
        silent.push_back(id);
    std::vector<lost_slave> lost;
    for (const auto& id : silent)
      lost.push_back(
          *lose(id, fmt::format("no heartbeat for {} ms (frozen or cut off)", slave_timeout_ms_)));
    return lost;
  }

  /// Queues the start of committed placement `job` for its slave (which is told when it registers
  /// again if it is not registered now).
  void queue_start(const pb::Job& job) {
    auto s = slaves_.find(job.node_id());
    if (s == slaves_.end())
      return;
    if (s->second.unreconciled > 0)
      s->second.told_since_report.insert({job.id(), job.attempts()});
    auto* start = queued_[job.node_id()].add_jobs();
    start->set_id(job.id());
    start->set_attempts(job.attempts());
    *start->mutable_spec() = job.spec();
  }
  /// Whether starts wait for take_starts().
  bool starts_queued() const {
    return !queued_.empty();
  }
  /// Every queued start, one message per slave.
  std::vector<message> take_starts() {
    std::vector<message> out;
    for (auto& [node_id, batch] : queued_)
      if (auto i = slaves_.find(node_id); i != slaves_.end())
        out.push_back({i->second.connection, std::move(batch), std::nullopt});
    queued_.clear();
    return out;
  }
  /// Stops `attempt` of `job_id` on `node_id`: that slave's queued starts go first.
  std::optional<message> kill(const std::string& node_id, const std::string& job_id,
                              uint32_t attempt) {
    auto i = slaves_.find(node_id);
    if (i == slaves_.end())
      return std::nullopt;
    message out{i->second.connection, {}, attempt_ref{job_id, attempt}};
    if (auto q = queued_.find(node_id); q != queued_.end()) {
      out.starts = std::move(q->second);
      queued_.erase(q);
    }
    return out;
  }
  /// What a committed change of `job` asks of its slave: stop it (a user killed it; the kill's
  /// message is returned) or start it (placed; queued). The record is the job's latest, which
  /// may already hold later entries of the same commit: a kill committed with the placement
  /// it follows still needs the start sent first, or the kill finds nothing to stop and the
  /// job stays placed for ever (a repeated start is a no-op for a slave that has it).
  std::optional<message> on_job_update(const pb::Job& job) {
    if (!state::holds_resources(job.state()))
      return std::nullopt;
    if (job.kill_requested()) {
      if (job.state() == pb::JOB_PLACED && !start_queued(job))
        queue_start(job);
      return kill(job.node_id(), job.id(), job.attempts());
    }
    if (job.state() == pb::JOB_PLACED)
      queue_start(job);
    return std::nullopt;
  }

  size_t size() const {
    return slaves_.size();
  }

private:
  /// Whether `job`'s start waits in its slave's batch (a scan: kills only).
  bool start_queued(const pb::Job& job) const {
    auto q = queued_.find(job.node_id());
    if (q == queued_.end())
      return false;
    for (const auto& start : q->second.jobs())
      if (start.id() == job.id() && start.attempts() == job.attempts())
        return true;
    return false;
  }

  int64_t slave_timeout_ms_;
  bool leading_ = false;
  std::map<std::string, slave> slaves_;        // by node id
  std::map<std::string, pb::StartJob> queued_; // by node id, until take_starts
  std::map<std::string, int64_t> announced_;   // unregistered slaves on their way, when heard
};

} // namespace claud::sched
