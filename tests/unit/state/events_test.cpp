// events_of over a job's and a node's life, the filters, and the snapshot that stands in for
// missed events.
#include "state/events.hpp"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "entries.hpp"

using namespace claud;
using namespace claud::state::test;
using kinds = std::vector<pb::EventKind>;

namespace {

/// Applies `e` at the next index and returns the events it made.
std::vector<pb::Event> events(replica& r, pb::LogEntry e) {
  e.set_index(r.next_index);
  e.set_term(1);
  e.set_time_ms(static_cast<int64_t>(1000 * r.next_index));
  ++r.next_index;
  auto result = r.state.apply(e);
  return state::events_of(e, result, r.state);
}

kinds kinds_of(const std::vector<pb::Event>& events) {
  kinds out;
  for (const auto& e : events)
    out.push_back(e.kind());
  return out;
}

pb::Event job_event(const std::string& id, const std::string& name, pb::EventKind kind) {
  pb::Event e;
  e.set_kind(kind);
  e.set_job_id(id);
  e.set_job_name(name);
  return e;
}

} // namespace

TEST_CASE("a job's life is told once per step, with the index and the outcome") {
  replica r;
  CHECK(kinds_of(events(r, registered("a", 2000, 4 * gib))) == kinds{pb::EVENT_NODE_JOINED});
  auto submit = events(r, submitted(spec(1000, gib, "web")));
  REQUIRE(kinds_of(submit) == kinds{pb::EVENT_JOB_SUBMITTED});
  CHECK(submit[0].job_id() == "1");
  CHECK(submit[0].job_name() == "web");
  CHECK(submit[0].state() == pb::JOB_PENDING);
  CHECK(submit[0].index() == 2);
  CHECK(submit[0].time_ms() == 2000);
  CHECK(kinds_of(events(r, placed("1", "a"))) == kinds{pb::EVENT_JOB_PLACED});
  CHECK(kinds_of(events(r, started("1", "a", 1))) == kinds{pb::EVENT_JOB_STARTED});
  CHECK(kinds_of(events(r, kill("1"))) == kinds{pb::EVENT_JOB_KILL_REQUESTED});
  auto end = events(r, ended("1", "a", 1, 15, ""));
  REQUIRE(kinds_of(end) == kinds{pb::EVENT_JOB_ENDED});
  CHECK(end[0].state() == pb::JOB_KILLED);
  CHECK(end[0].term_signal() == 15);
  CHECK(end[0].node_id() == "a");
}

TEST_CASE("a submission placed in its own entry tells both steps") {
  replica r;
  r.apply(registered("a", 2000, 4 * gib));
  auto e = submitted(spec(1000, gib));
  e.mutable_job_submitted()->set_node_id("a");
  CHECK(kinds_of(events(r, e)) == kinds{pb::EVENT_JOB_SUBMITTED, pb::EVENT_JOB_PLACED});
}

TEST_CASE("a restart tells how the attempt ended, and a lost node tells of its jobs") {
  replica r;
  r.apply(registered("a", 2000, 4 * gib));
  auto s = spec(1000, gib);
  s.set_restart(pb::RESTART_ON_FAILURE);
  s.set_max_attempts(3);
  s.set_fail_on_node_lost(false); // rescheduled when its node is lost
  r.apply(submitted(s));
  r.apply(placed("1", "a"));
  r.apply(started("1", "a", 1));
  auto restart = events(r, exited("1", "a", 1, 3));
  REQUIRE(kinds_of(restart) == kinds{pb::EVENT_JOB_RESTARTING});
  CHECK(restart[0].state() == pb::JOB_PENDING);
  CHECK(restart[0].exit_code() == 3);
  CHECK(restart[0].has_exit_code());
  CHECK(restart[0].node_id() == "a");
  r.apply(placed("1", "a"));
  r.apply(submitted(spec(500, gib)));
  r.apply(placed("2", "a"));
  auto lost = events(r, node_lost("a", "silent for 2 s"));
  CHECK(kinds_of(lost)
        == kinds{pb::EVENT_NODE_LOST, pb::EVENT_JOB_RESTARTING, pb::EVENT_JOB_ENDED});
  CHECK(lost[0].reason() == "silent for 2 s");
  CHECK(lost[0].node_state() == pb::NODE_DOWN);
  CHECK(lost[2].state() == pb::JOB_LOST);
}

TEST_CASE("a new leader's empty entry is a leader event; a no-op entry tells nothing") {
  replica r;
  pb::LogEntry noop;
  noop.set_leader("10.0.0.2:7400");
  auto leader = events(r, noop);
  REQUIRE(kinds_of(leader) == kinds{pb::EVENT_LEADER_CHANGED});
  CHECK(leader[0].leader() == "10.0.0.2:7400");
  CHECK(leader[0].term() == 1);
  CHECK(events(r, placed("7", "nowhere")).empty());
  pb::LogEntry change;
  change.mutable_membership_change()->set_address("10.0.0.4:7400");
  auto masters = events(r, change);
  REQUIRE(kinds_of(masters) == kinds{pb::EVENT_MASTERS_CHANGED});
  CHECK(masters[0].reason() == "10.0.0.4:7400 added as a learner");
}

TEST_CASE("a filter passes what it names; an empty one passes everything") {
  pb::Event node;
  node.set_kind(pb::EVENT_NODE_LOST);
  pb::Event leader;
  leader.set_kind(pb::EVENT_LEADER_CHANGED);
  auto web = job_event("4", "web-1", pb::EVENT_JOB_ENDED);
  auto batch = job_event("5", "batch", pb::EVENT_JOB_ENDED);

  state::event_filter all{pb::EventFilter{}};
  CHECK((all.passes(node) && all.passes(leader) && all.passes(web) && all.passes(batch)));

  pb::EventFilter spec;
  spec.add_job_ids("5");
  spec.set_name_prefix("web");
  state::event_filter some{spec};
  CHECK(some.passes(web));
  CHECK(some.passes(batch));
  CHECK_FALSE(some.passes(job_event("6", "we", pb::EVENT_JOB_ENDED)));
  CHECK_FALSE(some.passes(node));
  CHECK_FALSE(some.passes(leader));

  pb::EventFilter nodes_only;
  nodes_only.set_nodes(true);
  state::event_filter nodes{nodes_only};
  CHECK(nodes.passes(node));
  CHECK_FALSE(nodes.passes(web));
  CHECK_FALSE(nodes.passes(leader));
}

TEST_CASE("a filter's bounds are checked before it is served") {
  state::filter_limits limits;
  limits.max_job_ids = 2;
  pb::EventFilter f;
  CHECK(state::filter_error(f, limits).empty());
  f.add_job_ids("1");
  f.add_job_ids("2");
  f.add_job_ids("3");
  CHECK(state::filter_error(f, limits) == "a subscription names 3 jobs; at most 2 may be named");
  f.clear_job_ids();
  f.add_job_ids("");
  CHECK(state::filter_error(f, limits) == "\"\" is not a job id");
  f.clear_job_ids();
  f.set_name_prefix(std::string(300, 'x'));
  CHECK(state::filter_error(f, limits) == "a name prefix of 300 bytes is too long; at most 256");
}

TEST_CASE("a snapshot gives what the filter selects as it is now, and names unknown jobs") {
  replica r;
  r.apply(registered("a", 4000, 8 * gib));
  r.apply(submitted(spec(1000, gib, "web-1")));
  r.apply(submitted(spec(1000, gib, "web-2")));
  r.apply(submitted(spec(1000, gib, "batch")));
  r.apply(placed("1", "a"));
  r.apply(started("1", "a", 1));
  r.apply(exited("1", "a", 1, 0)); // web-1 ended: only named, it is in a snapshot

  pb::EventFilter spec;
  spec.set_name_prefix("web");
  spec.add_job_ids("1");
  spec.add_job_ids("2"); // also selected by its name: given once
  spec.add_job_ids("99");
  auto snapshot = state::snapshot_events(r.state, state::event_filter{spec});
  REQUIRE(snapshot.size() == 3);
  CHECK(snapshot[0].job_id() == "2");
  CHECK(snapshot[0].kind() == pb::EVENT_JOB_STATE);
  CHECK(snapshot[1].job_id() == "1");
  CHECK(snapshot[1].state() == pb::JOB_SUCCEEDED);
  CHECK(snapshot[2].job_id() == "99");
  CHECK(snapshot[2].kind() == pb::EVENT_JOB_NOT_FOUND);
  for (const auto& e : snapshot)
    CHECK(e.index() == r.state.applied_index());

  pb::EventFilter all_and_one;
  all_and_one.set_jobs(true);
  all_and_one.add_job_ids("1"); // ended: given because it is named, though --jobs gives live ones
  auto jobs = state::snapshot_events(r.state, state::event_filter{all_and_one});
  REQUIRE(jobs.size() == 3);
  CHECK(jobs[2].job_id() == "1");

  auto everything = state::snapshot_events(r.state, state::event_filter{pb::EventFilter{}});
  kinds expected{pb::EVENT_JOB_STATE, pb::EVENT_JOB_STATE, pb::EVENT_NODE_STATE};
  CHECK(kinds_of(everything) == expected); // the live jobs, then the nodes
}

TEST_CASE("an attempt's end reported twice is told once") {
  replica r;
  r.apply(registered("a", 2000, 4 * gib));
  r.apply(submitted(spec(1000, gib)));
  r.apply(placed("1", "a"));
  auto once = exited("1", "a", 1, 0);
  once.mutable_job_finished()->set_started(true); // started and ended in one report
  CHECK(kinds_of(events(r, once)) == kinds{pb::EVENT_JOB_ENDED});
  CHECK(events(r, once).empty());
  CHECK(events(r, exited("1", "a", 1, 0)).empty());
}
