#include "actors/api.hpp"

#include <caf/all.hpp>
#include <fmt/format.h>

#include "actors/api_access.hpp"
#include "actors/api_leader_path.hpp"
#include "actors/api_state.hpp"
#include "actors/internal_atoms.hpp"
#include "claud/protocol.hpp"
#include "state/job_states.hpp"

namespace claud {

namespace {

using self_pointer = api_self;

/// Answers `promise` with the job's committed record.
void deliver_job(self_pointer self, caf::response_promise promise, const std::string& job_id) {
  const auto& config = self->state.config;
  self->request(config.leader_election, config.internal_timeout, local_atom::value,
                status_atom::value, job_id)
      .then([promise](pb::Job& job) mutable { promise.deliver(std::move(job)); },
            [promise](caf::error& err) mutable { promise.deliver(std::move(err)); });
}

/// Answers `promise` with the node's committed record.
void deliver_node(self_pointer self, caf::response_promise promise, const std::string& node_id) {
  const auto& config = self->state.config;
  self->request(config.leader_election, config.internal_timeout, local_atom::value,
                nodes_atom::value)
      .then(
          [=](const pb::NodeList& nodes) mutable {
            for (const auto& node : nodes.nodes())
              if (node.id() == node_id) {
                promise.deliver(node);
                return;
              }
            promise.deliver(make_error(errc::not_found, "no node " + node_id));
          },
          [=](caf::error& err) mutable { promise.deliver(std::move(err)); });
}

/// Proposes `entry` and answers `promise` with the record of the job it is about, once committed.
void commit_and_answer(self_pointer self, caf::response_promise promise, pb::LogEntry entry) {
  const auto& config = self->state.config;
  self->request(config.leader_election, config.internal_timeout, propose_atom::value,
                std::move(entry))
      .then([=](const std::string& job_id) mutable { deliver_job(self, promise, job_id); },
            [=](caf::error& err) mutable { promise.deliver(std::move(err)); });
}

caf::result<pb::Job> submit(self_pointer self, pb::JobSpec& spec) {
  const auto& config = self->state.config;
  if (auto problem = state::validate_spec(spec, config.limits); !problem.empty())
    return make_error(errc::invalid_request, problem);
  if (spec.name().empty())
    spec.set_name(spec.argv(0).substr(spec.argv(0).rfind('/') + 1));
  // The scheduler refuses a job no node could ever run, and places it in the same entry.
  auto promise = self->make_response_promise();
  self->request(config.scheduler, config.internal_timeout, submit_atom::value, std::move(spec))
      .then([=](pb::Job& job) mutable { promise.deliver(std::move(job)); },
            [=](caf::error& err) mutable { promise.deliver(std::move(err)); });
  return promise;
}

caf::result<pb::Job> kill(self_pointer self, const std::string& job_id) {
  const auto& config = self->state.config;
  auto promise = self->make_response_promise();
  // The status read turns an unknown id into not_found before anything is written; apply still
  // has the last word on a job that ends in between. A job already asked to stop is answered as
  // it is: a kill sent again (a client's retry after a failover) changes nothing.
  self->request(config.leader_election, config.internal_timeout, local_atom::value,
                status_atom::value, job_id)
      .then(
          [=](pb::Job& job) mutable {
            if (job.kill_requested()) {
              promise.deliver(std::move(job));
              return;
            }
            pb::LogEntry entry;
            entry.mutable_job_kill_requested()->set_job_id(job_id);
            commit_and_answer(self, promise, std::move(entry));
          },
          [=](caf::error& err) mutable { promise.deliver(std::move(err)); });
  return promise;
}

/// Drains a node (or undoes it). With `migrate`, the jobs placed or running there end in the same
/// committed entry (and go back to pending by their policy); their old processes are then told to
/// stop, since no committed decision explains them any more.
caf::result<pb::Node> drain(self_pointer self, const std::string& node_id, bool draining,
                            bool migrate) {
  const auto& config = self->state.config;
  auto promise = self->make_response_promise();
  self->request(config.leader_election, config.internal_timeout, local_atom::value,
                jobs_atom::value)
      .then(
          [=](const pb::JobList& jobs) mutable {
            std::vector<std::pair<std::string, uint32_t>> moved;
            for (const auto& job : jobs.jobs())
              if (migrate && state::holds_resources(job.state()) && job.node_id() == node_id)
                moved.emplace_back(job.id(), job.attempts());
            pb::LogEntry entry;
            auto* op = entry.mutable_node_drain();
            op->set_node_id(node_id);
            op->set_draining(draining);
            op->set_migrate(migrate);
            const auto& config = self->state.config;
            self->request(config.leader_election, config.internal_timeout, propose_atom::value,
                          std::move(entry))
                .then(
                    [=](const std::string&) mutable {
                      for (const auto& [job_id, attempt] : moved)
                        self->send(self->state.config.resource_tracker, kill_atom::value, node_id,
                                   job_id, attempt);
                      deliver_node(self, promise, node_id);
                    },
                    [=](caf::error& err) mutable { promise.deliver(std::move(err)); });
          },
          [=](caf::error& err) mutable { promise.deliver(std::move(err)); });
  return promise;
}

/// Holds the request until every job in `ids` has ended (job updates arrive) or the poll period
/// passes. `many`: answered with a pb::JobList, else with the one pb::Job.
caf::response_promise wait(self_pointer self, pb::JobIds ids, bool many) {
  auto& st = self->state;
  auto promise = self->make_response_promise();
  if (st.waits.size() >= st.config.max_waiters) {
    promise.deliver(
        make_error(errc::overloaded,
                   fmt::format("{} clients are already waiting; retry later", st.waits.size())));
    return promise;
  }
  if (ids.ids_size() == 0 || static_cast<size_t>(ids.ids_size()) > st.config.max_jobs_per_wait) {
    promise.deliver(
        make_error(errc::invalid_request, fmt::format("a wait names 1 to {} jobs; split the list",
                                                      st.config.max_jobs_per_wait)));
    return promise;
  }
  self->request(st.config.leader_election, st.config.internal_timeout, local_atom::value,
                status_atom::value, std::move(ids))
      .then(
          [=](pb::JobList& records) mutable {
            job_waits::wait w{promise, many, records};
            if (w.unended == 0) {
              answer(w);
              return;
            }
            auto serial = self->state.waits.park(std::move(w));
            self->delayed_send(self, self->state.config.wait_poll, expire_atom::value, serial);
          },
          [=](caf::error& err) mutable { promise.deliver(std::move(err)); });
  return promise;
}

/// A wait held for the poll period is answered with its jobs as they are now.
void expire_wait(self_pointer self, uint64_t serial) {
  auto w = self->state.waits.take(serial);
  if (!w)
    return;
  pb::JobIds ids;
  for (const auto& id : w->ids)
    ids.add_ids(id);
  auto promise = w->promise;
  const auto& config = self->state.config;
  self->request(config.leader_election, config.internal_timeout, local_atom::value,
                status_atom::value, std::move(ids))
      .then(
          [w = std::move(*w)](pb::JobList& records) mutable {
            w.set_records(records);
            answer(w);
          },
          [promise](caf::error& err) mutable { promise.deliver(std::move(err)); });
}

void on_job_update(self_pointer self, const pb::Job& job) {
  for (auto& w : self->state.waits.job_changed(job))
    answer(w);
}

caf::result<pb::LogChunk> logs(self_pointer self, pb::LogRequest& request) {
  const auto& config = self->state.config;
  auto promise = self->make_response_promise();
  self->request(config.leader_election, config.internal_timeout, local_atom::value,
                status_atom::value, request.job_id())
      .then(
          [=](const pb::Job& job) mutable {
            if (job.node_id().empty()) {
              promise.deliver(make_error(
                  errc::conflict,
                  fmt::format("job {} has not started yet, so it has no output", job.id())));
              return;
            }
            if (request.attempt() == 0)
              request.set_attempt(job.attempts());
            promise.delegate(self->state.config.resource_tracker, logs_atom::value, request,
                             job.node_id());
          },
          [=](caf::error& err) mutable { promise.deliver(std::move(err)); });
  return promise;
}

/// Hands the request on; `to` answers the client directly.
template<class... Ts>
caf::response_promise forward(self_pointer self, const caf::actor& to, Ts&&... xs) {
  auto promise = self->make_response_promise();
  promise.delegate(to, std::forward<Ts>(xs)...);
  return promise;
}

/// The answer a follower gives a slave: where the leader is (empty when unknown).
caf::error slave_redirect(const api_state& st) {
  return make_error(errc::not_leader, st.leader);
}

/// Tells a watcher of the leader, if one is known.
void tell_leader(self_pointer self, const caf::actor& watcher) {
  const auto& st = self->state;
  if (!st.leader.empty())
    self->send(watcher, leader_atom::value, st.term, st.leader);
}

/// A slave asks to hear of every new leader, from this master as from the others: it then follows
/// a new leader within milliseconds of its election, even while the old one is frozen.
caf::result<caf::unit_t> add_watcher(self_pointer self, caf::actor& watcher) {
  auto& st = self->state;
  if (!watcher)
    return make_error(errc::invalid_request, "a watch needs an actor to tell");
  if (!st.watchers.count(watcher.address())) {
    if (st.watchers.size() >= max_leader_watchers)
      return make_error(errc::overloaded,
                        fmt::format("{} slaves already watch this master", st.watchers.size()));
    self->monitor(watcher);
    st.watchers.emplace(watcher.address(), watcher);
  }
  tell_leader(self, watcher);
  return caf::unit;
}

void on_role(self_pointer self, bool leading, const std::string& leader, uint64_t term) {
  auto& st = self->state;
  bool lost_leadership = st.leading && !leading;
  bool new_leader = !leader.empty() && (leader != st.leader || term != st.term);
  st.leading = leading;
  st.leader = leader;
  st.term = term;
  if (new_leader)
    for (const auto& [address, watcher] : st.watchers)
      tell_leader(self, watcher);
  if (!lost_leadership)
    return;
  // Held waits end now with a retryable error: the client asks again and reaches the new leader.
  for (auto& w : st.waits.take_all())
    w.promise.deliver(make_error(errc::unavailable, "the master that held this wait lost the "
                                                    "leadership; ask again"));
}

caf::behavior api(self_pointer self, api_config config) {
  self->state.identities = net::identities_of(self->system());
  self->state.config = std::move(config);
  self->send(self->state.config.leader_election, subscribe_atom::value,
             caf::actor_cast<caf::actor>(self));
  self->set_down_handler([=](caf::down_msg& down) { self->state.watchers.erase(down.source); });
  auto election = [=] { return self->state.config.leader_election; };
  auto leading = [=] { return self->state.leading; };
  return {
      [=](submit_atom atom, pb::JobSpec& spec) -> caf::result<pb::Job> {
        if (auto refused = refusal(self, access::operate))
          return refused;
        if (!leading())
          return to_leader<pb::Job>(self, atom, std::move(spec));
        return submit(self, spec);
      },
      [=](kill_atom atom, const std::string& job_id) -> caf::result<pb::Job> {
        if (auto refused = refusal(self, access::operate))
          return refused;
        if (!leading())
          return to_leader<pb::Job>(self, atom, job_id);
        return kill(self, job_id);
      },
      [=](drain_atom atom, const std::string& node_id, bool draining,
          bool migrate) -> caf::result<pb::Node> {
        if (auto refused = refusal(self, access::operate))
          return refused;
        if (!leading())
          return to_leader<pb::Node>(self, atom, node_id, draining, migrate);
        return drain(self, node_id, draining, migrate);
      },
      [=](masters_atom atom, pb::MembershipChange& change) -> caf::result<pb::LeaderInfo> {
        if (auto refused = refusal(self, access::operate))
          return refused;
        if (!leading())
          return to_leader<pb::LeaderInfo>(self, atom, std::move(change));
        return forward(self, election(), atom, std::move(change));
      },
      [=](wait_atom atom, const std::string& job_id) -> caf::result<pb::Job> {
        if (auto refused = refusal(self, access::read))
          return refused;
        if (!leading())
          return to_leader<pb::Job>(self, atom, job_id);
        pb::JobIds ids;
        ids.add_ids(job_id);
        return wait(self, std::move(ids), false);
      },
      [=](wait_atom atom, pb::JobIds& ids) -> caf::result<pb::JobList> {
        if (auto refused = refusal(self, access::read))
          return refused;
        if (!leading())
          return to_leader<pb::JobList>(self, atom, std::move(ids));
        return wait(self, std::move(ids), true);
      },
      [=](logs_atom atom, pb::LogRequest& request) -> caf::result<pb::LogChunk> {
        if (auto refused = refusal(self, access::read))
          return refused;
        if (!leading())
          return to_leader<pb::LogChunk>(self, atom, std::move(request));
        return logs(self, request);
      },
      [=](status_atom atom, const std::string& job_id) -> caf::result<pb::Job> {
        if (auto refused = refusal(self, access::read))
          return refused;
        return leading() ? forward(self, election(), atom, job_id)
                         : to_leader<pb::Job>(self, atom, job_id);
      },
      [=](jobs_atom atom) -> caf::result<pb::JobList> {
        if (auto refused = refusal(self, access::read))
          return refused;
        return leading() ? forward(self, election(), atom) : to_leader<pb::JobList>(self, atom);
      },
      [=](nodes_atom atom) -> caf::result<pb::NodeList> {
        if (auto refused = refusal(self, access::read))
          return refused;
        return leading() ? with_last_heard(self) : to_leader<pb::NodeList>(self, atom);
      },
      [=](leader_atom atom) -> caf::result<pb::LeaderInfo> {
        if (auto refused = refusal(self, access::read))
          return refused;
        return leading() ? with_health(self, true, atom) : to_leader<pb::LeaderInfo>(self, atom);
      },
      [=](local_atom local, status_atom atom, const std::string& job_id) -> caf::result<pb::Job> {
        if (auto refused = refusal(self, access::read))
          return refused;
        return forward(self, election(), local, atom, job_id);
      },
      [=](local_atom local, jobs_atom atom) -> caf::result<pb::JobList> {
        if (auto refused = refusal(self, access::read))
          return refused;
        return forward(self, election(), local, atom);
      },
      [=](local_atom local, nodes_atom atom) -> caf::result<pb::NodeList> {
        if (auto refused = refusal(self, access::read))
          return refused;
        return forward(self, election(), local, atom);
      },
      [=](local_atom local, leader_atom atom) -> caf::result<pb::LeaderInfo> {
        if (auto refused = refusal(self, access::read))
          return refused;
        return with_health(self, false, local, atom);
      },
      [=](events_atom atom, pb::Subscribe& request,
          caf::actor& subscriber) -> caf::result<pb::Subscribed> {
        if (auto refused = refusal(self, access::read))
          return refused;
        // Served here, leader or not: the hub answers and then sends to the subscriber itself.
        return forward(self, self->state.config.events, atom, std::move(request),
                       std::move(subscriber));
      },
      [=](health_atom) -> caf::result<pb::NodeHealth> {
        if (auto refused = refusal(self, access::read))
          return refused;
        return own_health(self->state.config.health, !self->state.leader.empty());
      },
      [=](expire_atom, uint64_t serial) {
        if (!refusal(self, access::internal))
          expire_wait(self, serial);
      },
      [=](register_atom atom, pb::SlaveReport& report,
          caf::actor& supervisor) -> caf::result<caf::unit_t> {
        if (auto refused = refusal(self, access::slave))
          return refused;
        if (!leading())
          return slave_redirect(self->state);
        return forward(self, self->state.config.resource_tracker, atom, std::move(report),
                       std::move(supervisor));
      },
      [=](report_atom atom, std::string& node_id,
          pb::SlaveReport& reports) -> caf::result<caf::unit_t> {
        if (auto refused = refusal(self, access::slave))
          return refused;
        if (!leading())
          return slave_redirect(self->state);
        return forward(self, self->state.config.resource_tracker, atom, std::move(node_id),
                       std::move(reports));
      },
      [=](ping_atom atom, std::string& node_id) -> caf::result<caf::unit_t> {
        if (auto refused = refusal(self, access::slave))
          return refused;
        if (!leading())
          return slave_redirect(self->state);
        return forward(self, self->state.config.resource_tracker, atom, std::move(node_id));
      },
      [=](watch_atom, caf::actor& watcher) -> caf::result<caf::unit_t> {
        if (auto refused = refusal(self, access::slave))
          return refused;
        return add_watcher(self, watcher);
      },
      [=](raft_atom atom, pb::RaftMessage& message) {
        if (!refusal(self, access::master))
          self->send(election(), atom, std::move(message));
      },
      [=](role_atom, bool is_leader, const std::string& leader, uint64_t term) {
        if (!refusal(self, access::internal))
          on_role(self, is_leader, leader, term);
      },
      [=](job_update_atom, const pb::Job& job) {
        if (!refusal(self, access::internal))
          on_job_update(self, job);
      },
      [=](node_update_atom, const pb::Node&) {
        // Nodes matter to the api only through reads.
      },
  };
}

} // namespace

caf::actor spawn_api(caf::actor_system& system, api_config config) {
  return system.spawn(api, std::move(config));
}

} // namespace claud
