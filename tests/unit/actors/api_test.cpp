// api, against a fake leader_election (and the real resource_tracker and scheduler behind it) under
// CAF's test coordinator: validation before anything is written, submissions answered once
// committed and placed in the same entry, parked
// waits, followers forwarding clients and redirecting slaves, and a cluster without a leader.
#include "actors/api.hpp"

#include <string>

#include "actor_fixture.hpp"
#include "actors/resource_tracker.hpp"
#include "actors/scheduler.hpp"
#include "state/job_states.hpp"

using namespace claud;
using namespace claud::test;

namespace {

constexpr auto wait_poll = std::chrono::milliseconds{2000};

struct api_fixture : actor_fixture {
  caf::actor tracker;
  caf::actor scheduler;
  caf::actor leader_api; // another master's api, reached through the peer directory
  caf::actor peers;
  caf::actor api;

  api_fixture() {
    resource_tracker_config tracker_config;
    tracker_config.leader_election = election;
    tracker_config.registration_grace = std::chrono::minutes{1};
    tracker_config.slave_timeout = std::chrono::minutes{1};
    tracker_config.internal_timeout = std::chrono::minutes{1};
    tracker = keep(spawn_resource_tracker(sys, tracker_config));
    scheduler_config scheduler_config;
    scheduler_config.leader_election = election;
    scheduler_config.internal_timeout = std::chrono::minutes{1};
    scheduler = keep(spawn_scheduler(sys, scheduler_config));
    leader_api = keep(sys.spawn([](caf::event_based_actor*) -> caf::behavior {
      return {
          [](submit_atom, const pb::JobSpec& spec) {
            pb::Job job;
            job.set_id("42");
            *job.mutable_spec() = spec;
            return job;
          },
      };
    }));
    peers = keep(sys.spawn([leader = leader_api](caf::event_based_actor*) -> caf::behavior {
      return {
          [=](lookup_atom, const std::string& address) -> caf::result<caf::actor> {
            if (address == "m2:7400")
              return leader;
            return make_error(errc::unavailable, "cannot reach master " + address);
          },
      };
    }));
    api_config config;
    config.leader_election = election;
    config.resource_tracker = tracker;
    config.scheduler = scheduler;
    config.peers = peers;
    config.wait_poll = wait_poll;
    config.internal_timeout = std::chrono::minutes{1};
    api = keep(spawn_api(sys, config));
    run();
  }

  /// This master leads, with slave a (4 CPUs, 8 GiB) known.
  void leading_with_slave() {
    set_role(true);
    commit(entries::registered("a", 4000, 8 * entries::gib));
  }

  std::shared_ptr<reply<pb::Job>> submit(const pb::JobSpec& spec) {
    auto answer = ask<pb::Job>(api, submit_atom::value, spec);
    run();
    return answer;
  }

  /// Job `id` placed and running on a (attempt 1).
  void running_job(const std::string& id) {
    commit(entries::submitted(job_spec(1)));
    commit(entries::placed(id, "a"));
    commit(entries::started(id, "a", 1));
  }
};

} // namespace

TEST_CASE_METHOD(api_fixture,
                 "an empty command is refused with a clear message, nothing proposed") {
  leading_with_slave();
  pb::JobSpec empty = job_spec(1);
  empty.clear_argv();
  auto answer = submit(empty);
  REQUIRE(answer->done);
  CHECK(has_code(answer->error, errc::invalid_request));
  CHECK(answer->message()
        == "the command is empty; give it after `--`, e.g. `claud submit -- echo hi`");
  CHECK(election_state().proposals.empty());
}

TEST_CASE_METHOD(api_fixture, "a job asking more than any known slave offers is refused") {
  leading_with_slave();
  auto answer = submit(job_spec(64));
  REQUIRE(answer->done);
  CHECK(has_code(answer->error, errc::invalid_request));
  CHECK(answer->message()
        == "no node could ever run this job: it needs 64 CPUs and 1 GiB, the largest node offers "
           "4 CPUs (a); ask for less with --cpus");
  CHECK(election_state().proposals.empty());
}

TEST_CASE_METHOD(api_fixture, "a valid submission answers the committed job, placed at once") {
  leading_with_slave();
  auto answer = submit(job_spec(1));
  REQUIRE(answer->ok());
  CHECK(answer->value.id() == "1");
  CHECK(answer->value.state() == pb::JOB_PLACED);
  CHECK(answer->value.node_id() == "a");
  CHECK(answer->value.spec().name() == "sleep"); // named after its command
  CHECK(answer->value.submitted_at_ms() > 0);
  auto submissions = proposed(pb::LogEntry::kJobSubmitted);
  REQUIRE(submissions.size() == 1);
  CHECK(submissions[0].job_submitted().spec().argv(0) == "sleep");
  CHECK(submissions[0].job_submitted().node_id() == "a");
  CHECK(proposed(pb::LogEntry::kJobPlaced).empty()); // one entry for both
  CHECK(job("1").spec().name() == "sleep");
}

TEST_CASE_METHOD(api_fixture, "kill answers the committed job; an unknown job is not found") {
  leading_with_slave();
  commit(entries::submitted(job_spec(6))); // more than slave a has: it stays pending
  auto killed = ask<pb::Job>(api, kill_atom::value, std::string{"1"});
  auto unknown = ask<pb::Job>(api, kill_atom::value, std::string{"7"});
  run();
  REQUIRE(killed->ok());
  CHECK(killed->value.state() == pb::JOB_KILLED);
  CHECK(killed->value.kill_requested());
  REQUIRE(unknown->done);
  CHECK(has_code(unknown->error, errc::not_found));
  CHECK(proposed(pb::LogEntry::kJobKillRequested).size() == 1);
}

TEST_CASE_METHOD(api_fixture, "wait on a running job is parked until the job ends") {
  leading_with_slave();
  running_job("1");
  auto waiting = ask<pb::Job>(api, wait_atom::value, std::string{"1"});
  auto second = ask<pb::Job>(api, wait_atom::value, std::string{"1"});
  run();
  CHECK_FALSE(waiting->done);
  CHECK_FALSE(second->done);
  commit(entries::exited("1", "a", 1, 0));
  REQUIRE(waiting->ok());
  CHECK(waiting->value.state() == pb::JOB_SUCCEEDED);
  REQUIRE(second->ok());
  CHECK(second->value.state() == pb::JOB_SUCCEEDED);

  // A job that has ended answers at once; an unknown one is not found.
  auto ended = ask<pb::Job>(api, wait_atom::value, std::string{"1"});
  auto unknown = ask<pb::Job>(api, wait_atom::value, std::string{"5"});
  run();
  CHECK(ended->ok());
  REQUIRE(unknown->done);
  CHECK(has_code(unknown->error, errc::not_found));
}

TEST_CASE_METHOD(api_fixture, "a parked wait answers after wait_poll with the current job") {
  leading_with_slave();
  running_job("1");
  auto waiting = ask<pb::Job>(api, wait_atom::value, std::string{"1"});
  run();
  advance(wait_poll - std::chrono::milliseconds{1});
  CHECK_FALSE(waiting->done);
  advance(std::chrono::milliseconds{1});
  REQUIRE(waiting->ok());
  CHECK(waiting->value.state() == pb::JOB_RUNNING);
  // The job ending later answers no one twice.
  commit(entries::exited("1", "a", 1, 0));
  CHECK(waiting->value.state() == pb::JOB_RUNNING);
}

namespace {

pb::JobIds ids_of(std::initializer_list<const char*> ids) {
  pb::JobIds out;
  for (const auto* id : ids)
    out.add_ids(id);
  return out;
}

std::vector<std::string> states_of(const pb::JobList& list) {
  std::vector<std::string> out;
  for (const auto& job : list.jobs())
    out.push_back(job.id() + " " + state::job_state_name(job.state()));
  return out;
}

using lines = std::vector<std::string>;

} // namespace

TEST_CASE_METHOD(api_fixture, "a wait for several jobs is answered once the last one has ended, "
                              "with each job's final record in the order named") {
  leading_with_slave();
  running_job("1");
  running_job("2");
  auto waiting = ask<pb::JobList>(api, wait_atom::value, ids_of({"2", "1", "2"}));
  auto one = ask<pb::Job>(api, wait_atom::value, std::string{"1"});
  run();
  commit(entries::exited("1", "a", 1, 0));
  REQUIRE(one->ok());
  CHECK_FALSE(waiting->done);
  commit(entries::exited("2", "a", 1, 3));
  REQUIRE(waiting->ok());
  CHECK(states_of(waiting->value) == lines{"2 failed", "1 succeeded", "2 failed"});
  CHECK(waiting->value.jobs(0).exit_code() == 3);

  // Jobs that have all ended answer at once.
  auto ended = ask<pb::JobList>(api, wait_atom::value, ids_of({"1", "2"}));
  run();
  REQUIRE(ended->ok());
  CHECK(states_of(ended->value) == lines{"1 succeeded", "2 failed"});
}

TEST_CASE_METHOD(api_fixture, "a wait for several jobs answers after wait_poll with their records "
                              "as they are; bad lists are refused") {
  leading_with_slave();
  running_job("1");
  running_job("2");
  auto waiting = ask<pb::JobList>(api, wait_atom::value, ids_of({"1", "2"}));
  run();
  commit(entries::exited("1", "a", 1, 0));
  CHECK_FALSE(waiting->done);
  advance(wait_poll);
  REQUIRE(waiting->ok());
  CHECK(states_of(waiting->value) == lines{"1 succeeded", "2 running"});
  commit(entries::exited("2", "a", 1, 0)); // answers no one twice
  CHECK(states_of(waiting->value) == lines{"1 succeeded", "2 running"});

  auto unknown = ask<pb::JobList>(api, wait_atom::value, ids_of({"1", "9"}));
  auto empty = ask<pb::JobList>(api, wait_atom::value, pb::JobIds{});
  pb::JobIds too_many;
  for (size_t i = 0; i <= max_jobs_per_wait; ++i)
    too_many.add_ids("1");
  auto long_list = ask<pb::JobList>(api, wait_atom::value, too_many);
  run();
  REQUIRE(unknown->done);
  CHECK(has_code(unknown->error, errc::not_found));
  CHECK_THAT(unknown->message(), Catch::Contains("'9'"));
  for (const auto& refused : {empty, long_list}) {
    REQUIRE(refused->done);
    CHECK(has_code(refused->error, errc::invalid_request));
    CHECK_THAT(refused->message(), Catch::Contains("a wait names 1 to 10000 jobs"));
  }
}

TEST_CASE_METHOD(api_fixture, "a master that loses the leadership answers its parked waits") {
  leading_with_slave();
  running_job("1");
  auto waiting = ask<pb::Job>(api, wait_atom::value, std::string{"1"});
  auto several = ask<pb::JobList>(api, wait_atom::value, ids_of({"1"}));
  run();
  REQUIRE_FALSE(waiting->done);
  REQUIRE_FALSE(several->done);
  set_role(false, "m2:7400");
  REQUIRE(waiting->done);
  CHECK(has_code(waiting->error, errc::unavailable));
  CHECK_THAT(waiting->message(), Catch::Contains("lost the leadership"));
  REQUIRE(several->done);
  CHECK(has_code(several->error, errc::unavailable));
}

TEST_CASE_METHOD(api_fixture, "on the leader, slaves register and ping through the tracker") {
  set_role(true);
  pb::SlaveReport report;
  *report.mutable_node() = slave_node("s1", 2, 4);
  auto early = ask<caf::unit_t>(api, ping_atom::value, std::string{"s1"});
  run();
  CHECK(has_code(early->error, errc::not_found));
  auto registered = ask<caf::unit_t>(api, register_atom::value, report, leader_api);
  run();
  CHECK(registered->ok());
  CHECK(node("s1").state() == pb::NODE_ALIVE);
  auto pinged = ask<caf::unit_t>(api, ping_atom::value, std::string{"s1"});
  run();
  CHECK(pinged->ok());
}

TEST_CASE_METHOD(api_fixture, "a follower tells slaves where the leader is") {
  set_role(false, "m2:7400");
  pb::SlaveReport report;
  *report.mutable_node() = slave_node("s1", 2, 4);
  auto registered = ask<caf::unit_t>(api, register_atom::value, report, leader_api);
  auto pinged = ask<caf::unit_t>(api, ping_atom::value, std::string{"s1"});
  pb::SlaveReport job_reports;
  job_reports.add_jobs()->set_job_id("1");
  auto reported = ask<caf::unit_t>(api, report_atom::value, std::string{"s1"}, job_reports);
  run();
  for (const auto& answer : {registered, pinged, reported}) {
    REQUIRE(answer->done);
    CHECK(has_code(answer->error, errc::not_leader));
    CHECK(answer->message() == "m2:7400");
  }
  CHECK(election_state().proposals.empty());
}

TEST_CASE_METHOD(api_fixture, "a follower forwards clients to the leader's api") {
  set_role(false, "m2:7400");
  auto answer = submit(job_spec(1));
  REQUIRE(answer->ok());
  CHECK(answer->value.id() == "42"); // answered by the leader's api
  CHECK(election_state().proposals.empty());

  set_role(false, "m3:7400"); // a leader this master cannot reach
  auto unreachable = submit(job_spec(1));
  REQUIRE(unreachable->done);
  CHECK(has_code(unreachable->error, errc::unavailable));
  CHECK(unreachable->message() == "cannot reach master m3:7400");
}

TEST_CASE_METHOD(api_fixture, "with no leader, clients get unavailable naming the majority") {
  set_role(false, "");
  auto submitted = submit(job_spec(1));
  auto status = ask<pb::Job>(api, status_atom::value, std::string{"1"});
  auto jobs = ask<pb::JobList>(api, jobs_atom::value);
  auto waited = ask<pb::Job>(api, wait_atom::value, std::string{"1"});
  run();
  for (const auto& answer : {submitted, status, waited}) {
    REQUIRE(answer->done);
    CHECK(has_code(answer->error, errc::unavailable));
    CHECK_THAT(answer->message(), Catch::Contains("majority") && Catch::Contains("3 masters"));
  }
  REQUIRE(jobs->done);
  CHECK(has_code(jobs->error, errc::unavailable));
  // Slaves are told that no leader is known (an empty address) and look again.
  auto pinged = ask<caf::unit_t>(api, ping_atom::value, std::string{"s1"});
  run();
  CHECK(has_code(pinged->error, errc::not_leader));
  CHECK(pinged->message().empty());
  CHECK(election_state().proposals.empty());
}

TEST_CASE_METHOD(api_fixture, "a master outside the membership sends clients to another master") {
  set_role(false, "");
  election_state().master_roles = {"follower", "follower", "learner", "not a member"};
  auto submitted = submit(job_spec(1));
  run();
  REQUIRE(submitted->done);
  CHECK(has_code(submitted->error, errc::not_member));
  CHECK_THAT(submitted->message(),
             Catch::Contains("not a member of the cluster") && Catch::Contains("another master"));
  // A learner does not count among the masters a leader needs a majority of.
  election_state().master_roles = {"follower", "follower", "learner"};
  auto again = submit(job_spec(1));
  run();
  CHECK_THAT(again->message(), Catch::Contains("of the 2 masters"));
}

TEST_CASE_METHOD(api_fixture, "local reads are answered from this master's state, leading or not") {
  commit(entries::submitted(job_spec(1)));
  set_role(false, "");
  auto status = ask<pb::Job>(api, local_atom::value, status_atom::value, std::string{"1"});
  auto jobs = ask<pb::JobList>(api, local_atom::value, jobs_atom::value);
  run();
  REQUIRE(status->ok());
  CHECK(status->value.state() == pb::JOB_PENDING);
  REQUIRE(jobs->ok());
  CHECK(jobs->value.jobs_size() == 1);
}
