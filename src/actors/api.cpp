#include "actors/api.hpp"

#include <map>

#include <caf/all.hpp>
#include <fmt/format.h>

#include "actors/internal_atoms.hpp"
#include "claud/protocol.hpp"
#include "sched/placement.hpp"
#include "state/job_states.hpp"

namespace claud {

namespace {

struct waiter {
  uint64_t serial;
  caf::response_promise promise;
};

struct api_state {
  api_config config;
  std::map<std::string, std::vector<waiter>> waiters; // by job id
  size_t waiter_count = 0;
  uint64_t next_serial = 0;
  static inline const char* name = "api";
};

using self_pointer = caf::stateful_actor<api_state>*;

/// Answers `promise` with the job's committed record.
void deliver_job(self_pointer self, caf::response_promise promise, const std::string& job_id) {
  const auto& config = self->state.config;
  self->request(config.leader_election, config.internal_timeout, status_atom::value, job_id)
    .then([promise](pb::Job& job) mutable { promise.deliver(std::move(job)); },
          [promise](caf::error& err) mutable { promise.deliver(std::move(err)); });
}

caf::result<pb::Job> submit(self_pointer self, pb::JobSpec& spec) {
  const auto& config = self->state.config;
  if (auto problem = state::validate_spec(spec, config.limits); !problem.empty())
    return make_error(errc::invalid_request, problem);
  if (spec.name().empty())
    spec.set_name(spec.argv(0).substr(spec.argv(0).rfind('/') + 1));
  auto promise = self->make_response_promise();
  self->request(config.leader_election, config.internal_timeout, nodes_atom::value)
    .then(
      [=](const pb::NodeList& list) mutable {
        std::vector<pb::Node> nodes(list.nodes().begin(), list.nodes().end());
        if (auto never = sched::never_fits_reason(nodes, spec); !never.empty()) {
          promise.deliver(make_error(errc::invalid_request, never));
          return;
        }
        pb::LogEntry entry;
        *entry.mutable_job_submitted()->mutable_spec() = spec;
        self->request(self->state.config.leader_election, self->state.config.internal_timeout,
                      propose_atom::value,
                      entry)
          .then([=](const std::string& job_id) mutable { deliver_job(self, promise, job_id); },
                [=](caf::error& err) mutable { promise.deliver(std::move(err)); });
      },
      [=](caf::error& err) mutable { promise.deliver(std::move(err)); });
  return promise;
}

caf::result<pb::Job> kill(self_pointer self, const std::string& job_id) {
  const auto& config = self->state.config;
  auto promise = self->make_response_promise();
  // The status read turns an unknown id into not_found before anything is written; apply still
  // has the last word on a job that ends in between.
  self->request(config.leader_election, config.internal_timeout, status_atom::value, job_id)
    .then(
      [=](const pb::Job&) mutable {
        pb::LogEntry entry;
        entry.mutable_job_kill_requested()->set_job_id(job_id);
        self->request(self->state.config.leader_election, self->state.config.internal_timeout,
                      propose_atom::value,
                      entry)
          .then([=](const std::string&) mutable { deliver_job(self, promise, job_id); },
                [=](caf::error& err) mutable { promise.deliver(std::move(err)); });
      },
      [=](caf::error& err) mutable { promise.deliver(std::move(err)); });
  return promise;
}

/// Parks the request until the job ends (its update arrives) or the poll period passes.
caf::result<pb::Job> wait(self_pointer self, const std::string& job_id) {
  auto& st = self->state;
  if (st.waiter_count >= st.config.max_waiters)
    return make_error(errc::overloaded,
                      fmt::format("{} clients are already waiting; retry later", st.waiter_count));
  auto promise = self->make_response_promise();
  auto serial = ++st.next_serial;
  self->request(st.config.leader_election, st.config.internal_timeout, status_atom::value, job_id)
    .then(
      [=](pb::Job& job) mutable {
        auto& st = self->state;
        if (state::is_terminal(job.state())) {
          promise.deliver(std::move(job));
          return;
        }
        st.waiters[job_id].push_back({serial, promise});
        ++st.waiter_count;
        self->delayed_send(self, st.config.wait_poll, expire_atom::value, job_id, serial);
      },
      [=](caf::error& err) mutable { promise.deliver(std::move(err)); });
  return promise;
}

void expire_waiter(self_pointer self, const std::string& job_id, uint64_t serial) {
  auto& st = self->state;
  auto i = st.waiters.find(job_id);
  if (i == st.waiters.end())
    return;
  auto& list = i->second;
  for (auto w = list.begin(); w != list.end(); ++w) {
    if (w->serial == serial) {
      deliver_job(self, w->promise, job_id);
      list.erase(w);
      --st.waiter_count;
      break;
    }
  }
  if (list.empty())
    st.waiters.erase(i);
}

void on_job_update(self_pointer self, pb::Job& job) {
  auto& st = self->state;
  if (!state::is_terminal(job.state()))
    return;
  auto i = st.waiters.find(job.id());
  if (i == st.waiters.end())
    return;
  for (auto& w : i->second)
    w.promise.deliver(job);
  st.waiter_count -= i->second.size();
  st.waiters.erase(i);
}

caf::result<pb::LogChunk> logs(self_pointer self, pb::LogRequest& request) {
  const auto& config = self->state.config;
  auto promise = self->make_response_promise();
  self->request(config.leader_election, config.internal_timeout, status_atom::value,
                request.job_id())
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
template <class... Ts>
caf::response_promise forward(self_pointer self, const caf::actor& to, Ts&&... xs) {
  auto promise = self->make_response_promise();
  promise.delegate(to, std::forward<Ts>(xs)...);
  return promise;
}

caf::behavior api(self_pointer self, api_config config) {
  self->state.config = std::move(config);
  self->send(self->state.config.leader_election, subscribe_atom::value,
             caf::actor_cast<caf::actor>(self));
  return {
    [=](submit_atom, pb::JobSpec& spec) { return submit(self, spec); },
    [=](kill_atom, const std::string& job_id) { return kill(self, job_id); },
    [=](wait_atom, const std::string& job_id) { return wait(self, job_id); },
    [=](expire_atom, const std::string& job_id, uint64_t serial) {
      expire_waiter(self, job_id, serial);
    },
    [=](logs_atom, pb::LogRequest& request) { return logs(self, request); },
    [=](status_atom, const std::string& job_id) {
      return forward(self, self->state.config.leader_election, status_atom::value, job_id);
    },
    [=](jobs_atom) { return forward(self, self->state.config.leader_election, jobs_atom::value); },
    [=](nodes_atom) {
      return forward(self, self->state.config.leader_election, nodes_atom::value);
    },
    [=](leader_atom) {
      return forward(self, self->state.config.leader_election, leader_atom::value);
    },
    [=](register_atom, pb::SlaveReport& report, caf::actor& supervisor) {
      return forward(self, self->state.config.resource_tracker, register_atom::value,
                            std::move(report), std::move(supervisor));
    },
    [=](report_atom, std::string& node_id, pb::JobReport& report) {
      return forward(self, self->state.config.resource_tracker, report_atom::value,
                            std::move(node_id), std::move(report));
    },
    [=](job_update_atom, pb::Job& job) { on_job_update(self, job); },
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
