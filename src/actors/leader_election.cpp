#include "actors/leader_election.hpp"

#include <algorithm>
#include <chrono>
#include <map>
#include <set>

#include <caf/all.hpp>
#include <fmt/format.h>

#include "actors/internal_atoms.hpp"
#include "actors/snapshot_writer.hpp"
#include "actors/state_queries.hpp"
#include "actors/wall_clock.hpp"
#include "claud/protocol.hpp"
#include "log/log.hpp"
#include "net/address.hpp"
#include "replica/replica.hpp"
#include "storage/storage_error.hpp"

namespace claud {

namespace {

/// What a committed proposal is answered with.
enum class answer_with {
  job_id,     // the id of the job the entry is about
  job,        // the job's record (what a submitter wants, without one more read)
  leader_info // the masters, as a membership change left them
};

struct pending_proposal {
  uint64_t term;
  caf::response_promise promise;
  answer_with answer = answer_with::job_id;
};

struct pending_read {
  state_query query;
  caf::response_promise promise;
  uint64_t index = 0; // set once a quorum confirmed the leadership
};

struct leader_election_state {
  leader_election_config config;
  std::shared_ptr<replica::replica> replica;
  std::map<uint64_t, pending_proposal> proposals; // by log index
  std::map<uint64_t, pending_read> reads;         // by read context
  uint64_t next_read_context = 0;
  bool flush_scheduled = false;
  uint64_t events_through = 0; // the event hub was told of every entry up to it
  std::vector<caf::actor> subscribers;
  bool announced_leading = false;
  std::string announced_leader;
  std::map<std::string, std::string> names; // master address -> node id
  std::map<std::string, caf::actor> direct; // master address -> its api, while connected
  raft::membership announced_members;       // as last told to the peer_directory and the log
  snapshot_writer snapshots;                // last: joined first when the state goes
  static inline const char* name = "leader_election";
};

using self_pointer = caf::stateful_actor<leader_election_state>*;

bool leads(const leader_election_state& st) {
  return st.replica->raft().current_role() == raft::role::leader;
}

caf::error not_leader_error(const leader_election_state& st) {
  return make_error(errc::not_leader, st.replica->raft().leader());
}

void schedule_flush(self_pointer self) {
  if (!self->state.flush_scheduled) {
    self->state.flush_scheduled = true;
    self->send(self, flush_atom::value);
  }
}

pb::LeaderInfo leader_info(const leader_election_state& st) {
  const auto& raft = st.replica->raft();
  auto name_of = [&](const std::string& address) {
    auto i = st.names.find(address);
    return i == st.names.end() ? address : i->second;
  };
  pb::LeaderInfo info;
  info.set_term(raft.term());
  info.set_commit_index(raft.log().committed());
  info.set_applied_index(raft.log().applied());
  info.set_served_by(st.config.address);
  info.set_syncs(st.replica->syncs());
  info.set_entries_written(st.replica->entries_written());
  if (!raft.leader().empty()) {
    info.mutable_leader()->set_id(name_of(raft.leader()));
    info.mutable_leader()->set_address(raft.leader());
  }
  const auto& members = raft.members();
  auto add = [&](const std::string& address) {
    auto* m = info.add_masters();
    m->set_id(name_of(address));
    m->set_address(address);
    const bool voter = members.is_voter(address);
    if (address == st.config.address) {
      m->set_role(!members.is_member(address) ? "not a member"
                  : voter                     ? raft::to_string(raft.current_role())
                                              : "learner");
      m->set_match_index(raft.log().last_index());
    } else {
      m->set_role(!voter ? "learner" : address == raft.leader() ? "leader" : "follower");
      if (auto p = raft.peers().find(address); p != raft.peers().end())
        m->set_match_index(p->second.match);
    }
  };
  for (const auto& voter : members.voters)
    add(voter);
  for (const auto& learner : members.learners)
    add(learner);
  if (!members.is_member(st.config.address))
    add(st.config.address);
  return info;
}

std::string joined(const std::set<std::string>& addresses) {
  return fmt::format("{}", fmt::join(addresses, ","));
}

/// The peer_directory keeps connections to every member but this one (with a master's own
/// --join while the log names no members yet), and the log says who they are when they change.
void announce_members(self_pointer self) {
  auto& st = self->state;
  const auto& members = st.replica->raft().members();
  if (members == st.announced_members)
    return;
  st.announced_members = members;
  std::vector<std::string> peers;
  for (const auto* group : {&members.voters, &members.learners})
    for (const auto& address : *group)
      if (address != st.config.address)
        peers.push_back(address);
  self->send(st.config.peers, peers_atom::value, std::move(peers));
  log::info("raft", "masters",
            {{"voters", joined(members.voters)},
             {"learners", joined(members.learners)},
             {"member", members.is_member(st.config.address) ? "yes" : "no"}});
}

void answer(self_pointer self, pending_read& read) {
  const auto& st = self->state;
  if (read.query.kind == state_query::leader)
    read.promise.deliver(leader_info(st));
  else
    deliver_query(read.promise, read.query, st.replica->state());
}

void announce_role(self_pointer self) {
  auto& st = self->state;
  bool leading = leads(st);
  const auto& leader = st.replica->raft().leader();
  if (leading == st.announced_leading && leader == st.announced_leader)
    return;
  st.announced_leading = leading;
  st.announced_leader = leader;
  log::info("raft", leading ? "leading" : "following",
            {{"term", std::to_string(st.replica->raft().term())}, {"leader", leader}});
  for (const auto& subscriber : st.subscribers)
    self->send(subscriber, role_atom::value, leading, leader, st.replica->raft().term());
  if (!leading) {
    // Reads need a confirmed leader: the client asks again. A proposed write may still commit
    // under the next leader, or may not: say so rather than keep the client waiting.
    for (auto& [context, read] : st.reads)
      read.promise.deliver(not_leader_error(st));
    st.reads.clear();
    for (auto& [index, proposal] : st.proposals)
      proposal.promise.deliver(make_error(
          errc::outcome_unknown,
          fmt::format("this master lost the leadership (it cannot reach a majority of the {} "
                      "masters) before the write committed; it may still commit — check with "
                      "`claud jobs`",
                      st.replica->raft().members().voters.size())));
    st.proposals.clear();
  }
}

/// One message per change, shared by every subscriber (CAF messages are copy-on-write and the
/// subscribers only read them), so a job's record is copied once, not once per subscriber.
void notify_changes(self_pointer self, const state::apply_result& result) {
  auto& st = self->state;
  const auto& machine = st.replica->state();
  auto to_all = [&](const caf::message& update) {
    for (const auto& subscriber : st.subscribers)
      self->send(subscriber, update);
  };
  for (const auto& id : result.changed_jobs)
    if (auto job = machine.find_job(id))
      to_all(caf::make_message(job_update_atom::value, std::move(*job)));
  for (const auto& id : result.changed_nodes)
    if (auto node = machine.find_node(id))
      to_all(caf::make_message(node_update_atom::value, *node));
}

/// Tells the event hub what the entries this flush applied made. A snapshot installed from the
/// leader is a gap the hub cannot fill: it is told the history starts again after it.
void publish_events(self_pointer self, const replica::output& out) {
  auto& st = self->state;
  if (!st.config.events)
    return;
  const auto applied = st.replica->raft().log().applied();
  if (applied == st.events_through && !out.snapshot_installed)
    return;
  const auto after = out.snapshot_installed ? applied : st.events_through;
  pb::EventBatch batch;
  batch.set_index(applied);
  if (!out.snapshot_installed)
    for (const auto& entry : out.applied)
      for (const auto& event : entry.events)
        *batch.add_events() = event;
  st.events_through = applied;
  self->send(st.config.events, events_atom::value, after, std::move(batch));
}

void resolve_proposal(self_pointer self, const replica::applied_entry& applied) {
  auto& proposals = self->state.proposals;
  auto i = proposals.find(applied.entry.index());
  if (i == proposals.end())
    return;
  auto& promise = i->second.promise;
  if (applied.entry.term() != i->second.term)
    promise.deliver(make_error(
        errc::unavailable, "leadership changed before the write committed; it was not applied"));
  else if (applied.result.applied && i->second.answer == answer_with::job)
    deliver_query(promise, {state_query::status, applied.result.job_id},
                  self->state.replica->state());
  else if (applied.result.applied && i->second.answer == answer_with::leader_info)
    promise.deliver(leader_info(self->state));
  else if (applied.result.applied)
    promise.deliver(applied.result.job_id);
  else
    promise.deliver(make_error(errc::conflict, applied.result.error));
  proposals.erase(i);
}

/// Straight to the peer's api while peer_directory holds a connection to it, else through
/// peer_directory (which connects first). Raft tolerates the reordering a switch between the two
/// paths can cause.
void send_raft(self_pointer self, pb::RaftMessage& message) {
  auto& st = self->state;
  message.set_from_name(st.config.node_id);
  if (auto i = st.direct.find(message.to()); i != st.direct.end()) {
    self->send(i->second, raft_atom::value, std::move(message));
    return;
  }
  auto to = message.to();
  self->send(st.config.peers, relay_atom::value, std::move(to), std::move(message));
}

/// What reached the disk is unknown: stop rather than guess; the master exits with the error.
void stop_for_storage(self_pointer self, const std::string& what) {
  log::error("storage", "write failed, stopping", {{"error", what}});
  for (auto& [index, p] : self->state.proposals)
    // Its appends may have reached the followers already (they leave before the fsync), so
    // the write may still commit under the next leader.
    p.promise.deliver(
        make_error(errc::outcome_unknown,
                   fmt::format("the leader could not write its log ({}); the write may still "
                               "commit through the other masters — check with `claud jobs`",
                               what)));
  self->quit(make_error(errc::storage_failure, what));
}

/// Persists what the core produced (one fsync), sends, applies, answers.
void flush(self_pointer self) {
  auto& st = self->state;
  st.flush_scheduled = false;
  replica::output out;
  try {
    out = st.replica->process([self](pb::RaftMessage& m) { send_raft(self, m); });
  } catch (const storage::storage_error& e) {
    stop_for_storage(self, e.what());
    return;
  }
  if (out.snapshot_to_write)
    st.snapshots.write(std::move(*out.snapshot_to_write), self->address());
  for (auto& m : out.messages)
    send_raft(self, m);
  // Changes first: a proposer that also subscribes (the scheduler) sees the committed record
  // before the answer that ends its reservation.
  for (const auto& applied : out.applied) {
    notify_changes(self, applied.result);
    resolve_proposal(self, applied);
  }
  publish_events(self, out);
  if (out.snapshot_installed) {
    // Proposals the snapshot covered are decided, but not knowable here.
    auto covered = st.proposals.upper_bound(st.replica->raft().log().applied());
    for (auto i = st.proposals.begin(); i != covered; ++i)
      i->second.promise.deliver(
          make_error(errc::outcome_unknown, "this master installed a snapshot; check the state"));
    st.proposals.erase(st.proposals.begin(), covered);
  }
  for (const auto& read : out.reads)
    if (auto i = st.reads.find(read.context); i != st.reads.end())
      i->second.index = read.index;
  const auto applied = st.replica->raft().log().applied();
  for (auto i = st.reads.begin(); i != st.reads.end();) {
    if (i->second.index != 0 && i->second.index <= applied) {
      answer(self, i->second);
      i = st.reads.erase(i);
    } else {
      ++i;
    }
  }
  announce_role(self);
  announce_members(self);
}

caf::response_promise propose(self_pointer self, pb::LogEntry& entry,
                              answer_with answer = answer_with::job_id) {
  auto& st = self->state;
  auto promise = self->make_response_promise();
  if (!leads(st)) {
    promise.deliver(not_leader_error(st));
    return promise;
  }
  entry.set_time_ms(now_ms());
  auto index = st.replica->raft().propose(std::move(entry));
  st.proposals[index] = {st.replica->raft().term(), promise, answer};
  schedule_flush(self);
  return promise;
}

/// A `masters remove` may name a master by its node id: the address raft knows it by.
std::string address_of(const leader_election_state& st, const std::string& name) {
  if (st.replica->raft().members().is_member(name))
    return name;
  for (const auto& [address, id] : st.names)
    if (id == name)
      return address;
  return name;
}

caf::response_promise change_membership(self_pointer self, pb::MembershipChange& change) {
  auto& st = self->state;
  auto& raft = st.replica->raft();
  auto refuse = [&](errc code, std::string why) {
    auto promise = self->make_response_promise();
    promise.deliver(make_error(code, std::move(why)));
    return promise;
  };
  if (!leads(st))
    return refuse(errc::not_leader, raft.leader());
  if (change.kind() == pb::MembershipChange::PROMOTE)
    return refuse(errc::invalid_request, "a learner becomes a voter by itself once it has "
                                         "caught up; `claud masters add` is all it takes");
  if (change.kind() == pb::MembershipChange::REMOVE) {
    change.set_address(address_of(st, change.address()));
  } else {
    try {
      change.set_address(net::parse_host_port(change.address()).to_string());
    } catch (const std::invalid_argument& e) {
      return refuse(errc::invalid_request, e.what());
    }
  }
  if (auto problem = raft.membership_problem(change); !problem.empty())
    return refuse(errc::conflict, problem);
  pb::LogEntry entry;
  *entry.mutable_membership_change() = change;
  log::info(
      "raft", "membership change proposed",
      {{"change", pb::MembershipChange::Kind_Name(change.kind())}, {"master", change.address()}});
  return propose(self, entry, answer_with::leader_info);
}

caf::response_promise read(self_pointer self, state_query query) {
  auto& st = self->state;
  auto promise = self->make_response_promise();
  if (!leads(st)) {
    promise.deliver(not_leader_error(st));
    return promise;
  }
  auto context = ++st.next_read_context;
  st.replica->raft().read_index(context);
  st.reads[context] = {std::move(query), promise};
  schedule_flush(self);
  return promise;
}

caf::behavior leader_election(self_pointer self, std::shared_ptr<leader_election_config> config,
                              std::shared_ptr<replica::replica> recovered) {
  auto& st = self->state;
  st.config = *config;
  st.replica = std::move(recovered);
  st.names[st.config.address] = st.config.node_id;
  self->send(st.config.peers, subscribe_atom::value, caf::actor_cast<caf::actor>(self));
  self->send(self, tick_atom::value);
  st.events_through = st.replica->raft().log().applied();
  if (st.config.events) { // where the hub's history starts, even if nothing is applied for a while
    pb::EventBatch start;
    start.set_index(st.events_through);
    self->send(st.config.events, events_atom::value, st.events_through, std::move(start));
  }
  schedule_flush(self); // apply what the log recovered
  return {
      [=](tick_atom) {
        self->state.replica->raft().tick();
        self->delayed_send(self, self->state.config.tick, tick_atom::value);
        schedule_flush(self);
      },
      [=](flush_atom) { flush(self); },
      [=](raft_atom, const pb::RaftMessage& message) {
        if (!message.from_name().empty())
          self->state.names[message.from()] = message.from_name();
        self->state.replica->raft().step(message);
        schedule_flush(self);
      },
      [=](peer_up_atom, const std::string& address, caf::actor& api) {
        self->state.direct[address] = std::move(api);
      },
      [=](peer_down_atom, const std::string& address) {
        self->state.direct.erase(address);
        if (address == self->state.replica->raft().leader()) {
          log::info("raft", "lost the leader's connection, campaigning", {{"leader", address}});
          self->state.replica->raft().leader_unreachable();
          schedule_flush(self);
        }
      },
      [=](snapshot_written_atom, pb::Snapshot& snapshot) {
        try {
          self->state.replica->snapshot_saved(std::move(snapshot));
        } catch (const storage::storage_error& e) {
          stop_for_storage(self, e.what());
        }
      },
      [=](snapshot_written_atom, const std::string& error) { stop_for_storage(self, error); },
      [=](propose_atom, pb::LogEntry& entry) { return propose(self, entry); },
      [=](propose_atom, status_atom, pb::LogEntry& entry) {
        return propose(self, entry, answer_with::job);
      },
      [=](masters_atom, pb::MembershipChange& change) { return change_membership(self, change); },
      [=](status_atom, std::string& id) {
        return read(self, {state_query::status, id});
      },
      [=](jobs_atom) {
        return read(self, {state_query::jobs, {}});
      },
      [=](nodes_atom) {
        return read(self, {state_query::nodes, {}});
      },
      [=](leader_atom) {
        return read(self, {state_query::leader, {}});
      },
      [=](local_atom, status_atom, std::string& id) {
        auto promise = self->make_response_promise();
        deliver_query(promise, {state_query::status, id}, self->state.replica->state());
        return promise;
      },
      [=](local_atom, status_atom, const pb::JobIds& ids) {
        return caf::result<pb::JobList>{job_records(self->state.replica->state(), ids)};
      },
      [=](local_atom, submit_atom, const std::string& key) {
        return caf::result<pb::Job>{submission_job(self->state.replica->state(), key)};
      },
      [=](local_atom, jobs_atom) { return job_list(self->state.replica->state()); },
      [=](local_atom, nodes_atom) { return node_list(self->state.replica->state()); },
      [=](local_atom, leader_atom) { return leader_info(self->state); },
      [=](view_atom) { return self->state.replica->state().pending_view(); },
      [=](local_atom, events_atom, const pb::EventFilter& filter) {
        // At the index the hub was last told of: the raft log's applied index.
        return event_snapshot(self->state.replica->state(),
                              self->state.replica->raft().log().applied(), filter);
      },
      [=](subscribe_atom, caf::actor& subscriber) {
        auto& st = self->state;
        self->send(subscriber, role_atom::value, leads(st), st.replica->raft().leader(),
                   st.replica->raft().term());
        st.subscribers.push_back(std::move(subscriber));
      },
  };
}

} // namespace

caf::actor spawn_leader_election(caf::actor_system& system, leader_election_config config) {
  replica::replica_options options;
  options.raft.id = config.address;
  options.raft.voters = config.masters;
  options.raft.heartbeat_ticks = config.heartbeat_ticks;
  options.raft.election_ticks = config.election_ticks;
  options.seed = config.seed;
  options.snapshot_every_entries = config.snapshot_every_entries;
  auto recovered = std::make_shared<replica::replica>(options, config.log);
  log::info("raft", "recovered",
            {{"last_index", std::to_string(recovered->raft().log().last_index())},
             {"term", std::to_string(recovered->raft().term())}});
  // Not detached, though fsync blocks the worker running it for a moment: CAF 0.17's detached
  // actors can leave ~actor_system waiting for ever at shutdown (CAF-NOTES.md; about one stop in
  // ten of a 3-master cluster stopped 100 ms apart).
  return system.spawn(leader_election, std::make_shared<leader_election_config>(std::move(config)),
                      recovered);
}

} // namespace claud
