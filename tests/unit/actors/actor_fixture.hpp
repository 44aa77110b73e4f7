#pragma once
// Deterministic tests of the master's actors (DESIGN.md section 5, level 2): an actor system whose
// scheduler is CAF's test coordinator, so nothing runs until the test says `run()`, and time moves
// only by `advance()`. No sleeps, no threads.
//
// The real leader_election runs detached (its own thread) and would escape the coordinator, so
// the actors under test talk to `fake_leader_election` instead: an event-based actor that owns a
// real state::cluster_state and answers the same messages the same way, committing every proposal
// at once (one master, no disk). Entries committed through another master (or before this one
// led) come in as (commit_atom, pb::LogEntry), which the test sends to seed the state.

#include <chrono>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <caf/all.hpp>
#include <caf/scheduler/test_coordinator.hpp>
#include <catch2/catch.hpp>
#include <fmt/format.h>

#include "actors/internal_atoms.hpp"
#include "actors/state_queries.hpp"
#include "claud/protocol.hpp"
#include "entries.hpp" // tests/unit/state: builders of log entries
#include "state/cluster_state.hpp"

namespace claud::test {

namespace entries = claud::state::test;
using namespace std::chrono_literals;

/// A test-only message to the fake: an entry committed without a proposal from this master.
using commit_atom = caf::atom_constant<caf::atom("commit")>;
using release_atom = caf::atom_constant<caf::atom("release")>;

// -- fake leader_election --------------------------------------------------------------------

struct fake_election_state {
  state::cluster_state machine;
  uint64_t next_index = 1;
  bool leading = false;
  std::string leader; // the leader's address, as leader_election announces it
  uint64_t term = 0;
  std::vector<caf::actor> subscribers;
  std::vector<pb::LogEntry> proposals; // every (propose_atom) received, leading or not
  std::vector<pb::LogEntry> committed; // every entry applied, in order
  // While set, (propose_atom, entry) waits unanswered and uncommitted, as in flight, until
  // (release_atom) commits and answers every held proposal in order.
  bool hold_proposals = false;
  std::vector<std::pair<pb::LogEntry, caf::response_promise>> held;
  // The roles (local_atom, leader_atom) lists, voters first: three masters unless a test says.
  std::vector<std::string> master_roles{"follower", "follower", "follower"};
  static inline const char* name = "fake_leader_election";
};

using fake_election_actor = caf::stateful_actor<fake_election_state>;

/// Applies `entry` as the next committed index and tells the subscribers what changed, as
/// leader_election does after a commit.
inline state::apply_result fake_apply(fake_election_actor* self, pb::LogEntry entry) {
  auto& st = self->state;
  entry.set_index(st.next_index++);
  entry.set_term(1);
  entry.set_time_ms(static_cast<int64_t>(1000 * entry.index()));
  auto result = st.machine.apply(entry);
  st.committed.push_back(entry);
  for (const auto& id : result.changed_jobs)
    if (auto job = st.machine.find_job(id))
      for (const auto& subscriber : st.subscribers)
        self->send(subscriber, job_update_atom::value, *job);
  for (const auto& id : result.changed_nodes)
    if (auto node = st.machine.find_node(id))
      for (const auto& subscriber : st.subscribers)
        self->send(subscriber, node_update_atom::value, *node);
  return result;
}

/// fake_apply(), answered like a proposal's promise: the job id.
inline caf::result<std::string> fake_commit(fake_election_actor* self, pb::LogEntry entry) {
  auto result = fake_apply(self, std::move(entry));
  if (!result.applied)
    return make_error(errc::conflict, result.error);
  return result.job_id;
}

inline caf::error fake_not_leader(const fake_election_state& st) {
  return make_error(errc::not_leader, st.leader);
}

inline caf::behavior fake_leader_election(fake_election_actor* self) {
  return {
      [=](propose_atom, pb::LogEntry& entry) -> caf::result<std::string> {
        self->state.proposals.push_back(entry);
        if (!self->state.leading)
          return fake_not_leader(self->state);
        if (self->state.hold_proposals) {
          auto promise = self->make_response_promise();
          self->state.held.emplace_back(std::move(entry), promise);
          return promise;
        }
        return fake_commit(self, std::move(entry));
      },
      [=](release_atom) {
        auto held = std::move(self->state.held);
        self->state.held.clear();
        for (auto& [entry, promise] : held) {
          auto result = fake_apply(self, std::move(entry));
          if (result.applied)
            promise.deliver(result.job_id);
          else
            promise.deliver(make_error(errc::conflict, result.error));
        }
      },
      [=](propose_atom, status_atom, pb::LogEntry& entry) -> caf::result<pb::Job> {
        self->state.proposals.push_back(entry);
        if (!self->state.leading)
          return fake_not_leader(self->state);
        auto result = fake_apply(self, std::move(entry));
        if (!result.applied)
          return make_error(errc::conflict, result.error);
        return *self->state.machine.find_job(result.job_id);
      },
      [=](commit_atom, pb::LogEntry& entry) { return fake_commit(self, std::move(entry)); },
      [=](role_atom, bool leading, std::string& leader, uint64_t term) {
        auto& st = self->state;
        if (leading == st.leading && leader == st.leader)
          return;
        st.leading = leading;
        st.leader = std::move(leader);
        st.term = term;
        for (const auto& subscriber : st.subscribers)
          self->send(subscriber, role_atom::value, st.leading, st.leader, st.term);
      },
      [=](subscribe_atom, caf::actor& subscriber) {
        auto& st = self->state;
        self->send(subscriber, role_atom::value, st.leading, st.leader, st.term);
        st.subscribers.push_back(std::move(subscriber));
      },
      [=](view_atom) { return self->state.machine.pending_view(); },
      [=](local_atom, leader_atom) {
        const auto& st = self->state;
        pb::LeaderInfo info;
        info.set_term(st.term);
        info.mutable_leader()->set_address(st.leader);
        for (size_t i = 0; i < st.master_roles.size(); ++i) {
          auto* m = info.add_masters();
          m->set_address(fmt::format("m{}:7400", i + 1));
          m->set_role(st.master_roles[i]);
        }
        return info;
      },
      [=](local_atom, status_atom, const std::string& id) {
        auto promise = self->make_response_promise();
        deliver_query(promise, {state_query::status, id}, self->state.machine);
        return promise;
      },
      [=](local_atom, status_atom, const pb::JobIds& ids) {
        return caf::result<pb::JobList>{job_records(self->state.machine, ids)};
      },
      [=](local_atom, submit_atom, const std::string& key) {
        return caf::result<pb::Job>{submission_job(self->state.machine, key)};
      },
      [=](local_atom, jobs_atom) { return job_list(self->state.machine); },
      [=](local_atom, nodes_atom) { return node_list(self->state.machine); },
      // Linearizable reads: leader only; with one master its own state is current.
      [=](status_atom, const std::string& id) {
        auto promise = self->make_response_promise();
        if (!self->state.leading)
          promise.deliver(fake_not_leader(self->state));
        else
          deliver_query(promise, {state_query::status, id}, self->state.machine);
        return promise;
      },
      [=](jobs_atom) -> caf::result<pb::JobList> {
        if (!self->state.leading)
          return fake_not_leader(self->state);
        return job_list(self->state.machine);
      },
      [=](nodes_atom) -> caf::result<pb::NodeList> {
        if (!self->state.leading)
          return fake_not_leader(self->state);
        return node_list(self->state.machine);
      },
  };
}

// -- fake job_supervisor (a slave's end of the tracker's messages) ----------------------------

struct fake_supervisor_state {
  std::vector<pb::Job> starts; // the jobs of every start message, in order
  size_t start_messages = 0;
  std::vector<std::pair<std::string, uint32_t>> kills; // (job, attempt)
  // Every start and kill in order of arrival: "start 1/1", "kill 1/1" (job/attempt).
  std::vector<std::string> orders;
  static inline const char* name = "fake_supervisor";
};

using fake_supervisor_actor = caf::stateful_actor<fake_supervisor_state>;

inline caf::behavior fake_supervisor(fake_supervisor_actor* self) {
  return {
      [=](start_atom, const pb::StartJob& batch) {
        auto& st = self->state;
        ++st.start_messages;
        for (const auto& job : batch.jobs()) {
          st.starts.push_back(job);
          st.orders.push_back("start " + job.id() + "/" + std::to_string(job.attempts()));
        }
      },
      [=](kill_atom, const std::string& job, uint32_t attempt) {
        self->state.kills.emplace_back(job, attempt);
        self->state.orders.push_back("kill " + job + "/" + std::to_string(attempt));
      },
      [=](logs_atom, const pb::LogRequest& request) {
        pb::LogChunk chunk;
        chunk.set_data("output of job " + request.job_id());
        chunk.set_finished(true);
        return chunk;
      },
  };
}

// -- the fixture ------------------------------------------------------------------------------

/// What a request got back: nothing yet, a value, or an error.
template<class T>
struct reply {
  bool done = false;
  T value{};
  caf::error error;

  bool ok() const {
    return done && !error;
  }
  std::string message() const {
    return error ? error_message(error) : std::string{};
  }
};

class actor_fixture {
public:
  actor_fixture()
      : sys(configure(cfg)),
        sched(dynamic_cast<caf::scheduler::test_coordinator&>(sys.scheduler())) {
    election = keep(sys.spawn(fake_leader_election));
  }

  ~actor_fixture() {
    // Actors that hold each other (subscribers, configs) would keep the system from ending.
    for (const auto& actor : actors_)
      caf::anon_send_exit(actor, caf::exit_reason::user_shutdown);
    sched.run();
  }

  actor_fixture(const actor_fixture&) = delete;
  actor_fixture& operator=(const actor_fixture&) = delete;

  /// Remembers `actor` to stop it at the end of the test.
  caf::actor keep(caf::actor actor) {
    actors_.push_back(actor);
    return actor;
  }

  /// Runs every actor until no message is left (timers do not fire).
  size_t run() {
    return sched.run();
  }

  /// Moves the clock by `step`, `times` times, running the actors after each step: a periodic
  /// timer fires once per advance, however far it jumps.
  void advance(caf::timespan step, int times = 1) {
    for (int i = 0; i < times; ++i) {
      sched.advance_time(step);
      sched.run();
    }
  }

  /// Sends a request from a probe actor; the reply fills in once the actors run. Use
  /// T = caf::unit_t for requests answered with an empty message.
  template<class T, class... Ts>
  std::shared_ptr<reply<T>> ask(const caf::actor& dest, Ts... xs) {
    auto out = std::make_shared<reply<T>>();
    sys.spawn([=](caf::event_based_actor* self) {
      auto failed = [=](caf::error& err) {
        out->done = true;
        out->error = std::move(err);
      };
      if constexpr (std::is_same<T, caf::unit_t>::value)
        self->request(dest, caf::infinite, xs...).then([=]() { out->done = true; }, failed);
      else
        self->request(dest, caf::infinite, xs...)
            .then(
                [=](T& value) {
                  out->done = true;
                  out->value = std::move(value);
                },
                failed);
    });
    return out;
  }

  /// Sends `entry` to the fake as committed (not a proposal of this master) and runs.
  void commit(pb::LogEntry entry) {
    caf::anon_send(election, commit_atom::value, std::move(entry));
    run();
  }

  /// leader_election announces a role: to every subscriber, then runs.
  void set_role(bool leading, const std::string& leader = "m1:7400", uint64_t term = 1) {
    caf::anon_send(election, role_atom::value, leading, leader, term);
    run();
  }

  fake_election_state& election_state() {
    return deref<fake_election_actor>(election).state;
  }
  pb::Job job(const std::string& id) {
    auto job = election_state().machine.find_job(id);
    REQUIRE(job);
    return std::move(*job);
  }
  const pb::Node& node(const std::string& id) {
    auto node = election_state().machine.find_node(id);
    REQUIRE(node != nullptr);
    return *node;
  }
  /// The entries proposed so far (not those the test committed) with this operation.
  std::vector<pb::LogEntry> proposed(pb::LogEntry::OpCase op) {
    std::vector<pb::LogEntry> out;
    for (const auto& e : election_state().proposals)
      if (e.op_case() == op)
        out.push_back(e);
    return out;
  }

  template<class Actor>
  Actor& deref(const caf::actor& handle) {
    auto ptr = caf::actor_cast<caf::abstract_actor*>(handle);
    REQUIRE(ptr != nullptr);
    return dynamic_cast<Actor&>(*ptr);
  }

  caf::actor_system_config cfg;
  caf::actor_system sys;
  caf::scheduler::test_coordinator& sched;
  caf::actor election; // the fake leader_election

private:
  static caf::actor_system_config& configure(caf::actor_system_config& cfg) {
    register_protocol(cfg);
    cfg.set("scheduler.policy", caf::atom("testing"));
    cfg.set("logger.verbosity", caf::atom("quiet"));
    cfg.set("logger.file-verbosity", caf::atom("quiet"));
    cfg.set("logger.console-verbosity", caf::atom("quiet"));
    return cfg;
  }

  std::vector<caf::actor> actors_;
};

/// A slave's node record as it registers: `cpus` whole CPUs and `gibs` GiB.
inline pb::Node slave_node(const std::string& id, int64_t cpus, int64_t gibs) {
  return entries::registered(id, 1000 * cpus, gibs * entries::gib).node_registered().node();
}

/// A job spec asking for `cpus` CPUs (fractions allowed) and `gibs` GiB.
inline pb::JobSpec job_spec(double cpus, int64_t gibs = 1) {
  return entries::spec(static_cast<int64_t>(cpus * 1000), gibs * entries::gib);
}

} // namespace claud::test
