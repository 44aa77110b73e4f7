#include "actors/leader_election.hpp"

#include <algorithm>
#include <chrono>

#include <caf/all.hpp>
#include <fmt/format.h>

#include "actors/internal_atoms.hpp"
#include "claud/protocol.hpp"
#include "log/log.hpp"
#include "state/cluster_state.hpp"
#include "state/job_states.hpp"
#include "storage/storage_error.hpp"

namespace claud {

namespace {

int64_t now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

/// Job ids are decimal numbers; sort them as numbers so `claud jobs` lists them in order.
bool job_id_less(const pb::Job& a, const pb::Job& b) {
  if (a.id().size() != b.id().size())
    return a.id().size() < b.id().size();
  return a.id() < b.id();
}

struct proposal {
  pb::LogEntry entry;
  caf::response_promise promise;
};

struct leader_election_state {
  std::string node_id;
  std::string address;
  std::shared_ptr<storage::log_store> log;
  state::cluster_state machine;
  uint64_t term = 1;
  std::vector<proposal> batch;
  bool flush_scheduled = false;
  std::vector<caf::actor> subscribers;
  static inline const char* name = "leader_election";
};

using self_pointer = caf::stateful_actor<leader_election_state>*;

void notify(self_pointer self, const state::apply_result& result) {
  auto& st = self->state;
  for (const auto& id : result.changed_jobs)
    if (auto job = st.machine.find_job(id))
      for (const auto& subscriber : st.subscribers)
        self->send(subscriber, job_update_atom::value, *job);
  for (const auto& id : result.changed_nodes)
    if (auto node = st.machine.find_node(id))
      for (const auto& subscriber : st.subscribers)
        self->send(subscriber, node_update_atom::value, *node);
}

/// Writes the whole batch with one fsync, then applies it and answers every proposer.
void flush(self_pointer self) {
  auto& st = self->state;
  st.flush_scheduled = false;
  auto batch = std::move(st.batch);
  st.batch.clear();
  std::vector<pb::LogEntry> entries;
  entries.reserve(batch.size());
  const int64_t time_ms = now_ms();
  for (auto& p : batch) {
    p.entry.set_index(st.log->last_index() + entries.size() + 1);
    p.entry.set_term(st.term);
    p.entry.set_time_ms(time_ms);
    entries.push_back(p.entry);
  }
  try {
    st.log->append(entries);
    st.log->sync();
  } catch (const storage::storage_error& e) {
    // What reached the disk is unknown: stop taking writes rather than guess.
    log::error("storage", "write failed, stopping", {{"error", e.what()}});
    for (auto& p : batch)
      p.promise.deliver(make_error(errc::storage_failure, e.what()));
    self->quit(make_error(errc::storage_failure, e.what()));
    return;
  }
  log::debug("raft", "committed", {{"entries", std::to_string(entries.size())},
                                   {"last_index", std::to_string(st.log->last_index())}});
  for (auto& p : batch) {
    auto result = st.machine.apply(p.entry);
    if (result.applied)
      p.promise.deliver(result.job_id);
    else
      p.promise.deliver(make_error(errc::conflict, result.error));
    notify(self, result);
  }
}

pb::LeaderInfo leader_info(const leader_election_state& st) {
  pb::LeaderInfo info;
  info.set_term(st.term);
  info.set_commit_index(st.log->last_index());
  auto* me = info.add_masters();
  me->set_id(st.node_id);
  me->set_address(st.address);
  me->set_role("leader");
  me->set_match_index(st.log->last_index());
  *info.mutable_leader() = *me;
  return info;
}

caf::behavior leader_election(self_pointer self, leader_election_config config,
                              std::shared_ptr<state::cluster_state> recovered) {
  auto& st = self->state;
  st.node_id = config.node_id;
  st.address = config.address;
  st.log = config.log;
  st.machine = std::move(*recovered);
  st.term = std::max<uint64_t>(1, st.log->hard_state().term());
  return {
    [=](propose_atom, pb::LogEntry& entry) {
      auto& st = self->state;
      auto promise = self->make_response_promise();
      st.batch.push_back({std::move(entry), promise});
      if (!st.flush_scheduled) {
        st.flush_scheduled = true;
        self->send(self, flush_atom::value);
      }
      return promise;
    },
    [=](flush_atom) { flush(self); },
    [=](subscribe_atom, caf::actor& subscriber) {
      self->state.subscribers.push_back(std::move(subscriber));
    },
    [=](status_atom, const std::string& id) -> caf::result<pb::Job> {
      if (auto job = self->state.machine.find_job(id))
        return *job;
      return make_error(errc::not_found,
                        fmt::format("no job with id '{}'; `claud jobs` lists them", id));
    },
    [=](jobs_atom) {
      pb::JobList list;
      for (const auto& [id, job] : self->state.machine.data().jobs())
        *list.add_jobs() = job;
      std::sort(list.mutable_jobs()->begin(), list.mutable_jobs()->end(), job_id_less);
      return list;
    },
    [=](nodes_atom) {
      pb::NodeList list;
      for (const auto& [id, node] : self->state.machine.data().nodes())
        *list.add_nodes() = node;
      std::sort(list.mutable_nodes()->begin(), list.mutable_nodes()->end(),
                [](const pb::Node& a, const pb::Node& b) { return a.id() < b.id(); });
      return list;
    },
    [=](view_atom) {
      const auto& data = self->state.machine.data();
      pb::ClusterState view;
      *view.mutable_nodes() = data.nodes();
      for (const auto& [id, job] : data.jobs())
        if (job.state() == pb::JOB_PENDING)
          (*view.mutable_jobs())[id] = job;
      return view;
    },
    [=](leader_atom) { return leader_info(self->state); },
  };
}

} // namespace

caf::actor spawn_leader_election(caf::actor_system& system, leader_election_config config) {
  auto recovered = std::make_shared<state::cluster_state>();
  for (const auto& entry : config.log->entries())
    recovered->apply(entry);
  if (config.log->hard_state().term() == 0) {
    pb::HardState hard_state;
    hard_state.set_term(1);
    hard_state.set_vote(config.node_id);
    config.log->set_hard_state(hard_state);
    config.log->sync();
  }
  log::info("raft", "recovered",
            {{"entries", std::to_string(config.log->last_index())},
             {"jobs", std::to_string(recovered->data().jobs_size())}});
  return system.spawn<caf::detached>(leader_election, std::move(config), recovered);
}

} // namespace claud
