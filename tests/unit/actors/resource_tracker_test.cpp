// resource_tracker, against a fake leader_election and fake slave supervisors under CAF's test
// coordinator: registration, pings, starting placed jobs and killing killed ones on their slave,
// failure detection (silence, closed connection, no registration after a leader change), job
// reports, and the reconciliation of what a registering slave runs with the committed state.
#include "actors/resource_tracker.hpp"

#include <string>
#include <utility>
#include <vector>

#include "actor_fixture.hpp"

using namespace claud;
using namespace claud::test;

namespace {

constexpr auto slave_timeout = std::chrono::milliseconds{400};
constexpr auto registration_grace = std::chrono::milliseconds{10000};
constexpr auto quarter = slave_timeout / 4; // the tracker's heartbeat check period

using kill_list = std::vector<std::pair<std::string, uint32_t>>;

/// Whether the job's attempt ended lost: the job is lost, or back to pending by its restart
/// policy (a job lost with its node is rescheduled unless its spec says otherwise).
bool ended_lost(const pb::Job& job) {
  return job.state() == pb::JOB_LOST || (job.state() == pb::JOB_PENDING && job.attempts() > 0);
}

/// A slave's batch of job reports.
pb::SlaveReport batch(std::initializer_list<pb::JobReport> reports) {
  pb::SlaveReport out;
  for (const auto& r : reports)
    *out.add_jobs() = r;
  return out;
}

pb::JobReport running(const std::string& job_id, uint32_t attempt) {
  pb::JobReport r;
  r.set_job_id(job_id);
  r.set_attempt(attempt);
  r.set_running(true);
  return r;
}

pb::JobReport exited(const std::string& job_id, uint32_t attempt, int exit_code) {
  pb::JobReport r;
  r.set_job_id(job_id);
  r.set_attempt(attempt);
  r.set_has_exit_code(true);
  r.set_exit_code(exit_code);
  return r;
}

struct tracker_fixture : actor_fixture {
  caf::actor tracker;
  caf::actor supervisor; // slave a's job_supervisor

  tracker_fixture() {
    resource_tracker_config config;
    config.leader_election = election;
    config.registration_grace = registration_grace;
    config.slave_timeout = slave_timeout;
    config.internal_timeout = std::chrono::minutes{1};
    tracker = keep(spawn_resource_tracker(sys, config));
    supervisor = keep(sys.spawn(fake_supervisor));
    run();
  }

  std::shared_ptr<reply<caf::unit_t>> register_slave(const std::string& id,
                                                     std::vector<pb::JobReport> jobs = {}) {
    pb::SlaveReport report;
    *report.mutable_node() = slave_node(id, 4, 8);
    for (auto& job : jobs)
      *report.add_jobs() = std::move(job);
    auto answer = ask<caf::unit_t>(tracker, register_atom::value, report, supervisor);
    run();
    return answer;
  }

  std::shared_ptr<reply<caf::unit_t>> ping(const std::string& id) {
    auto answer = ask<caf::unit_t>(tracker, ping_atom::value, id);
    run();
    return answer;
  }

  fake_supervisor_state& slave() {
    return deref<fake_supervisor_actor>(supervisor).state;
  }

  /// Job `id` placed on `node` (attempt 1) and, if `start`, reported running there.
  void committed_job(const std::string& id, const std::string& node, bool start) {
    commit(entries::submitted(job_spec(1)));
    commit(entries::placed(id, node));
    if (start)
      commit(entries::started(id, node, 1));
  }
};

} // namespace

TEST_CASE_METHOD(tracker_fixture, "a registration commits NodeRegistered, then answers") {
  set_role(true);
  auto answer = register_slave("a");
  REQUIRE(answer->done);
  CHECK(answer->message() == "");
  auto registrations = proposed(pb::LogEntry::kNodeRegistered);
  REQUIRE(registrations.size() == 1);
  CHECK(registrations[0].node_registered().node().id() == "a");
  CHECK(node("a").state() == pb::NODE_ALIVE);
  CHECK(node("a").cpu_millis_total() == 4000);

  pb::SlaveReport nameless;
  auto refused = ask<caf::unit_t>(tracker, register_atom::value, nameless, supervisor);
  run();
  REQUIRE(refused->done);
  CHECK(has_code(refused->error, errc::invalid_request));
  CHECK(proposed(pb::LogEntry::kNodeRegistered).size() == 1);
}

TEST_CASE_METHOD(tracker_fixture, "a ping of an unknown node is not_found; a registered one's is "
                                  "answered") {
  set_role(true);
  auto unknown = ping("a");
  REQUIRE(unknown->done);
  CHECK(has_code(unknown->error, errc::not_found));
  CHECK(unknown->message() == "not registered with this leader");
  REQUIRE(register_slave("a")->ok());
  CHECK(ping("a")->ok());
}

TEST_CASE_METHOD(tracker_fixture, "a committed placement is sent to the slave's supervisor") {
  set_role(true);
  REQUIRE(register_slave("a")->ok());
  commit(entries::registered("b", 4000, 8 * entries::gib)); // known, but not connected here
  committed_job("1", "a", false);
  REQUIRE(slave().starts.size() == 1);
  const auto& started = slave().starts[0];
  CHECK(started.id() == "1");
  CHECK(started.attempts() == 1);
  CHECK(started.spec().argv(0) == "sleep");

  committed_job("2", "b", false); // its slave is told when it registers
  CHECK(slave().starts.size() == 1);
  commit(entries::started("1", "a", 1)); // a running job is not started again
  CHECK(slave().starts.size() == 1);
  CHECK(slave().kills.empty());
}

TEST_CASE_METHOD(tracker_fixture, "placements the tracker learns of together reach their slave in "
                                  "one message, and a kill never overtakes a start") {
  set_role(true);
  REQUIRE(register_slave("a")->ok());
  for (const auto* id : {"1", "2", "3"}) {
    commit(entries::submitted(job_spec(1)));
    commit(entries::placed(id, "a"));
  }
  REQUIRE(slave().start_messages == 3); // each learned of alone
  // The updates of one commit's burst, all in the mailbox before the tracker runs.
  auto placed = [&](const std::string& id, uint32_t attempt, bool kill) {
    pb::Job job = this->job(id);
    job.set_attempts(attempt);
    job.set_kill_requested(kill);
    caf::anon_send(tracker, job_update_atom::value, job);
  };
  placed("1", 2, false);
  placed("2", 2, false);
  placed("3", 2, false);
  placed("2", 2, true);
  placed("1", 3, false);
  run();
  CHECK(slave().start_messages == 5);
  using orders = std::vector<std::string>;
  CHECK(slave().orders
        == orders{"start 1/1", "start 2/1", "start 3/1", "start 1/2", "start 2/2", "start 3/2",
                  "kill 2/2", "start 1/3"});
}

TEST_CASE_METHOD(tracker_fixture, "a kill request for a running job is sent with its attempt") {
  set_role(true);
  REQUIRE(register_slave("a")->ok());
  committed_job("1", "a", true);
  REQUIRE(slave().kills.empty());
  commit(entries::kill("1"));
  CHECK(job("1").kill_requested());
  CHECK(slave().kills == kill_list{{"1", 1}});
}

TEST_CASE_METHOD(tracker_fixture, "a silent slave is lost after slave_timeout with its jobs") {
  set_role(true);
  REQUIRE(register_slave("a")->ok());
  committed_job("1", "a", true);
  advance(quarter, 3);
  CHECK(proposed(pb::LogEntry::kNodeLost).empty());
  CHECK(node("a").state() == pb::NODE_ALIVE);

  advance(quarter, 3); // 1.5 x slave_timeout without a word
  auto lost = proposed(pb::LogEntry::kNodeLost);
  REQUIRE(lost.size() == 1);
  CHECK(lost[0].node_lost().node_id() == "a");
  CHECK_THAT(lost[0].node_lost().reason(), Catch::Contains("no heartbeat for 400 ms"));
  CHECK(node("a").state() == pb::NODE_DOWN);
  CHECK(node("a").cpu_millis_used() == 0);
  CHECK(ended_lost(job("1")));
  // It is forgotten: its pings are refused until it registers again.
  CHECK(has_code(ping("a")->error, errc::not_found));
  advance(quarter, 8);
  CHECK(proposed(pb::LogEntry::kNodeLost).size() == 1);
}

TEST_CASE_METHOD(tracker_fixture, "pings keep a slave alive; its silence then loses it") {
  set_role(true);
  REQUIRE(register_slave("a")->ok());
  for (int i = 0; i < 16; ++i) { // 4 x slave_timeout
    advance(quarter);
    REQUIRE(ping("a")->ok());
  }
  CHECK(proposed(pb::LogEntry::kNodeLost).empty());
  CHECK(node("a").state() == pb::NODE_ALIVE);
  advance(quarter, 6);
  CHECK(proposed(pb::LogEntry::kNodeLost).size() == 1);
}

TEST_CASE_METHOD(tracker_fixture, "a slave whose connection closes is lost at once") {
  set_role(true);
  REQUIRE(register_slave("a")->ok());
  committed_job("1", "a", true);
  caf::anon_send_exit(supervisor, caf::exit_reason::kill); // what a closed connection looks like
  run();
  auto lost = proposed(pb::LogEntry::kNodeLost);
  REQUIRE(lost.size() == 1);
  CHECK(lost[0].node_lost().reason() == "its connection to the leader closed");
  CHECK(ended_lost(job("1")));
}

TEST_CASE_METHOD(tracker_fixture, "a node that does not register within the grace period after a "
                                  "leader change is lost") {
  commit(entries::registered("b", 4000, 8 * entries::gib)); // alive under the previous leader
  set_role(true);
  advance(std::chrono::seconds{1}, 9);
  CHECK(node("b").state() == pb::NODE_ALIVE);
  advance(std::chrono::seconds{1}, 2);
  CHECK(node("b").state() == pb::NODE_DOWN);
  CHECK_THAT(node("b").reason(), Catch::Contains("did not register within 10000 ms"));
}

TEST_CASE_METHOD(tracker_fixture, "a node that announced itself while on its way gets one more "
                                  "grace period") {
  commit(entries::registered("b", 4000, 8 * entries::gib));
  set_role(true);
  advance(std::chrono::seconds{1}, 5);
  CHECK(has_code(ping("b")->error, errc::not_found)); // its link reached us; its report is slow
  advance(std::chrono::seconds{1}, 6);                // the grace is over: spared
  CHECK(node("b").state() == pb::NODE_ALIVE);
  advance(std::chrono::seconds{1}, 10); // it never registered after all
  CHECK(node("b").state() == pb::NODE_DOWN);
}

TEST_CASE_METHOD(tracker_fixture, "job reports become committed transitions; stale ones are "
                                  "acknowledged") {
  set_role(true);
  REQUIRE(register_slave("a")->ok());
  committed_job("1", "a", false);
  auto started
      = ask<caf::unit_t>(tracker, report_atom::value, std::string{"a"}, batch({running("1", 1)}));
  run();
  CHECK(started->ok());
  CHECK(job("1").state() == pb::JOB_RUNNING);
  auto ended
      = ask<caf::unit_t>(tracker, report_atom::value, std::string{"a"}, batch({exited("1", 1, 3)}));
  run();
  CHECK(ended->ok());
  CHECK(job("1").state() == pb::JOB_FAILED);
  CHECK(job("1").exit_code() == 3);
  // Sent again (its acknowledgement was lost): the state has moved on, and says so.
  auto again
      = ask<caf::unit_t>(tracker, report_atom::value, std::string{"a"}, batch({exited("1", 1, 3)}));
  run();
  CHECK(again->ok());
  CHECK(job("1").state() == pb::JOB_FAILED);
}

TEST_CASE_METHOD(tracker_fixture, "a batch of reports is answered once every one is committed") {
  set_role(true);
  REQUIRE(register_slave("a")->ok());
  committed_job("1", "a", false);
  committed_job("2", "a", false);
  auto ended = ask<caf::unit_t>(tracker, report_atom::value, std::string{"a"},
                                batch({exited("1", 1, 0), exited("2", 1, 4)}));
  run();
  CHECK(ended->ok());
  CHECK(job("1").state() == pb::JOB_SUCCEEDED);
  CHECK(job("2").state() == pb::JOB_FAILED);
  // A batch whose reports cannot all be committed is not acknowledged: the slave sends it again.
  set_role(false, "m2:7400");
  auto refused
      = ask<caf::unit_t>(tracker, report_atom::value, std::string{"a"}, batch({exited("1", 1, 0)}));
  run();
  REQUIRE(refused->done);
  CHECK_FALSE(refused->ok());
}

TEST_CASE_METHOD(tracker_fixture, "output is read from the slave that ran the job") {
  set_role(true);
  REQUIRE(register_slave("a")->ok());
  pb::LogRequest request;
  request.set_job_id("1");
  request.set_attempt(1);
  auto chunk = ask<pb::LogChunk>(tracker, logs_atom::value, request, std::string{"a"});
  auto elsewhere = ask<pb::LogChunk>(tracker, logs_atom::value, request, std::string{"b"});
  run();
  REQUIRE(chunk->ok());
  CHECK(chunk->value.data() == "output of job 1");
  REQUIRE(elsewhere->done);
  CHECK(has_code(elsewhere->error, errc::unavailable));
  CHECK_THAT(elsewhere->message(), Catch::Contains("node b that ran job 1 is not connected"));
}

TEST_CASE_METHOD(tracker_fixture, "a registering slave is reconciled with the committed state") {
  // Decided under the previous leader: job 1 placed on a, jobs 2, 3 and 4 running there.
  commit(entries::registered("a", 8000, 16 * entries::gib));
  committed_job("1", "a", false);
  committed_job("2", "a", true);
  committed_job("3", "a", true);
  committed_job("4", "a", false);
  set_role(true);
  REQUIRE(slave().starts.empty());

  auto answer = register_slave("a", {
                                        running("3", 1),  // as decided
                                        running("4", 1),  // started, the report was not committed
                                        running("9", 1),  // no decision explains it
                                        running("2", 7),  // an attempt that is not current
                                        exited("8", 1, 0) // ended: nothing to stop
                                    });
  REQUIRE(answer->ok());
  // A process no committed decision explains is told to stop, and so is the attempt given up as
  // lost (2/1), in case the report only predated its start.
  CHECK(slave().kills == kill_list{{"9", 1}, {"2", 7}, {"2", 1}});
  // A placed job the slave does not report is started (again).
  REQUIRE(slave().starts.size() == 1);
  CHECK(slave().starts[0].id() == "1");
  // A running job the slave does not report is lost.
  auto lost = proposed(pb::LogEntry::kJobLost);
  REQUIRE(lost.size() == 1);
  CHECK(lost[0].job_lost().job_id() == "2");
  CHECK(lost[0].job_lost().reason() == "slave a no longer runs it (it restarted)");
  CHECK(ended_lost(job("2")));
  // A placed job reported running is committed as started.
  CHECK(job("4").state() == pb::JOB_RUNNING);
  CHECK(job("3").state() == pb::JOB_RUNNING);
  CHECK(proposed(pb::LogEntry::kJobStarted).size() == 1);
}

TEST_CASE_METHOD(tracker_fixture, "a slave that reports running an attempt the state refused is "
                                  "told to stop it") {
  set_role(true);
  REQUIRE(register_slave("a")->ok());
  commit(entries::registered("b", 4000, 8 * entries::gib));
  committed_job("1", "b", false); // job 1 runs on b, not a
  // A start that reached a late (held in a connection while the leader gave the attempt up).
  auto late
      = ask<caf::unit_t>(tracker, report_atom::value, std::string{"a"}, batch({running("1", 1)}));
  run();
  CHECK(late->ok()); // the state moved past it: acknowledged
  CHECK(slave().kills == kill_list{{"1", 1}});

  committed_job("2", "a", true); // running on a in the state
  auto repeated
      = ask<caf::unit_t>(tracker, report_atom::value, std::string{"a"}, batch({running("2", 1)}));
  run();
  CHECK(repeated->ok());
  CHECK(slave().kills == kill_list{{"1", 1}}); // the state runs it there: left alone
}
