// The slave's job_supervisor with real processes and a real threaded actor system (its reaper and
// output pump are threads, so CAF's test coordinator cannot drive it). A fake slave_link records
// the reports it is sent; every wait is bounded by a deadline and ends as soon as its condition
// holds.

#include <poll.h>
#include <signal.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <caf/all.hpp>
#include <catch2/catch.hpp>

#include "actors/internal_atoms.hpp"
#include "actors/job_supervisor.hpp"
#include "claud/protocol.hpp"
#include "storage/started_attempts.hpp"
#include "test_support.hpp" // tests/unit/proc: scratch_dir, read_file, open_pidfd

using namespace claud;
using namespace std::chrono_literals;
using proc::test::deadline;
using proc::test::scratch_dir;

namespace {

/// Every report the supervisor sent, in order, shared between the fake link and the test.
class report_log {
public:
  void add(const pb::SlaveReport& batch) {
    std::lock_guard<std::mutex> lock{mutex_};
    for (const auto& report : batch.jobs())
      reports_.push_back(report);
    changed_.notify_all();
  }

  /// Waits until `times` reports satisfy `match`; false after the deadline.
  bool wait_for(const std::function<bool(const pb::JobReport&)>& match, size_t times = 1) {
    std::unique_lock<std::mutex> lock{mutex_};
    return changed_.wait_for(lock, deadline, [&] { return count_locked(match) >= times; });
  }

  bool any(const std::function<bool(const pb::JobReport&)>& match) {
    std::lock_guard<std::mutex> lock{mutex_};
    return count_locked(match) > 0;
  }

private:
  size_t count_locked(const std::function<bool(const pb::JobReport&)>& match) const {
    return static_cast<size_t>(std::count_if(reports_.begin(), reports_.end(), match));
  }

  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<pb::JobReport> reports_;
};

caf::behavior fake_link(caf::event_based_actor*, std::shared_ptr<report_log> log) {
  return {
      [=](report_atom, const pb::SlaveReport& batch) { log->add(batch); },
  };
}

auto is(const std::string& job, uint32_t attempt, bool running) {
  return [=](const pb::JobReport& r) {
    return r.job_id() == job && r.attempt() == attempt && r.running() == running;
  };
}

/// A shell command that writes its pid to `pid_file` and then becomes `sleep 30`, as that pid.
std::vector<std::string> sleeper(const std::string& pid_file, bool ignore_sigterm = false) {
  return {"sh", "-c",
          std::string{ignore_sigterm ? "trap '' TERM; " : ""} + "echo $$ > " + pid_file
              + ".tmp && mv " + pid_file + ".tmp " + pid_file + "; exec sleep 30"};
}

class supervisor_fixture {
public:
  explicit supervisor_fixture(std::chrono::milliseconds kill_grace = 3000ms)
      : sys{configure(cfg)}, log{std::make_shared<report_log>()} {
    job_supervisor_config config;
    config.node_id = "s1";
    config.jobs_dir = dir.path();
    config.kill_grace = kill_grace;
    config.started = std::make_shared<storage::started_attempts>(dir.file("started-attempts"));
    supervisor = spawn_job_supervisor(sys, config);
    caf::anon_send(supervisor, link_to_atom::value, sys.spawn(fake_link, log));
  }

  ~supervisor_fixture() {
    // Stopping the supervisor kills every process group it still runs.
    caf::anon_send_exit(supervisor, caf::exit_reason::user_shutdown);
  }

  supervisor_fixture(const supervisor_fixture&) = delete;
  supervisor_fixture& operator=(const supervisor_fixture&) = delete;

  struct start_order {
    std::string job_id;
    uint32_t attempt;
    std::vector<std::string> argv;
    std::string user = {}; // submit --user
  };

  /// One message with every start, as the leader sends the starts of a burst of placements.
  void start(const std::vector<start_order>& orders) {
    pb::StartJob batch;
    for (const auto& order : orders) {
      auto* job = batch.add_jobs();
      job->set_id(order.job_id);
      job->set_attempts(order.attempt);
      for (const auto& arg : order.argv)
        job->mutable_spec()->add_argv(arg);
      job->mutable_spec()->set_user(order.user);
    }
    caf::anon_send(supervisor, start_atom::value, batch);
  }

  void start(const std::string& job_id, uint32_t attempt, const std::vector<std::string>& argv) {
    start({{job_id, attempt, argv}});
  }

  /// The pid a sleeper() wrote, once it has.
  pid_t wait_pid(const std::string& pid_file) {
    auto until = std::chrono::steady_clock::now() + deadline;
    while (std::chrono::steady_clock::now() < until) {
      auto text = proc::test::read_file(pid_file);
      if (!text.empty())
        return static_cast<pid_t>(std::stol(text));
      std::this_thread::sleep_for(5ms); // polled: the job writes it whenever it gets to run
    }
    FAIL("no pid in " << pid_file);
    return 0;
  }

  /// What the supervisor would tell a leader it registers with.
  pb::SlaveReport full_report() {
    pb::SlaveReport out;
    caf::scoped_actor self{sys};
    self->request(supervisor, deadline, report_atom::value)
        .receive([&](pb::SlaveReport& report) { out = std::move(report); },
                 [&](caf::error& err) { FAIL("no report: " << sys.render(err)); });
    return out;
  }

  /// Waits until the supervisor's full report satisfies `done`; false after the deadline.
  bool wait_full_report(const std::function<bool(const pb::SlaveReport&)>& done) {
    auto until = std::chrono::steady_clock::now() + deadline;
    while (std::chrono::steady_clock::now() < until) {
      if (done(full_report()))
        return true;
      std::this_thread::sleep_for(5ms); // polled: the exit reaches the supervisor on its own time
    }
    return false;
  }

  scratch_dir dir;
  caf::actor_system_config cfg;
  caf::actor_system sys;
  std::shared_ptr<report_log> log;
  caf::actor supervisor;

private:
  static caf::actor_system_config& configure(caf::actor_system_config& cfg) {
    register_protocol(cfg);
    cfg.set("logger.verbosity", caf::atom("quiet"));
    cfg.set("logger.console-verbosity", caf::atom("quiet"));
    return cfg;
  }
};

/// Waits for any process (not only a child) to end; false after the deadline.
bool wait_gone(pid_t pid) {
  unique_fd pidfd{proc::test::open_pidfd(pid)};
  if (!pidfd.valid())
    return errno == ESRCH;
  pollfd entry{pidfd.get(), POLLIN, 0};
  return ::poll(&entry, 1, static_cast<int>(deadline.count())) == 1;
}

bool lists(const pb::SlaveReport& report, const std::string& job, uint32_t attempt) {
  for (const auto& r : report.jobs())
    if (r.job_id() == job && r.attempt() == attempt)
      return true;
  return false;
}

} // namespace

TEST_CASE("a job's end is reported with its exit code, started and ended together") {
  supervisor_fixture f;
  f.start("7", 1, {"sh", "-c", "echo out; exit 3"});
  REQUIRE(f.log->wait_for(is("7", 1, false)));
  CHECK(f.log->any([](const pb::JobReport& r) {
    return r.has_exit_code() && r.exit_code() == 3 && r.started_at_ms() != 0;
  }));
  CHECK_FALSE(f.log->any(is("7", 1, true))); // it ended within started_report_delay
  CHECK(proc::test::read_file(f.dir.file("7.1.stdout")) == "out\n");
}

TEST_CASE("a job asking for a user this slave does not allow fails to start, saying so") {
  // A leader that knew this slave with other --allow-users (before a restart) placed it here.
  supervisor_fixture f;
  f.start({{"8", 1, {"true"}, "daemon"}, {"9", 1, {"true"}, proc::current_user_name()}});
  REQUIRE(f.log->wait_for(is("8", 1, false)));
  CHECK(f.log->any([](const pb::JobReport& r) {
    return r.job_id() == "8" && !r.has_exit_code()
           && r.reason()
                  == "cannot start job: slave s1 does not let jobs run as daemon; start it with "
                     "--allow-users daemon";
  }));
  // Its own user needs no --allow-users.
  REQUIRE(f.log->wait_for(is("9", 1, false)));
  CHECK(f.log->any([](const pb::JobReport& r) {
    return r.job_id() == "9" && r.has_exit_code() && r.exit_code() == 0;
  }));
}

TEST_CASE("a start of an attempt that ended here reports its end again instead of nothing") {
  // A leader whose log lost the end (a record cut on recovery) still has the job `placed` here.
  supervisor_fixture f;
  f.start("7", 1, {"sh", "-c", "exit 3"});
  REQUIRE(f.log->wait_for(is("7", 1, false)));
  REQUIRE(f.wait_full_report([](const pb::SlaveReport& r) { return !lists(r, "7", 1); }));
  f.start("7", 1, {"sh", "-c", "exit 3"});
  REQUIRE(f.log->wait_for(is("7", 1, false), 2));
  CHECK_FALSE(f.log->any(is("7", 1, true))); // not run again
}

TEST_CASE("the jobs of a batch all start, and a kill sent right after the batch stops its job") {
  supervisor_fixture f;
  f.start({{"1", 1, sleeper(f.dir.file("pid.1"))},
           {"2", 1, sleeper(f.dir.file("pid.2"))},
           {"3", 1, sleeper(f.dir.file("pid.3"))}});
  caf::anon_send(f.supervisor, kill_atom::value, std::string{"3"}, uint32_t{1});
  REQUIRE(f.log->wait_for(is("3", 1, false)));
  CHECK(f.log->any([](const pb::JobReport& r) {
    return r.job_id() == "3" && r.term_signal() == SIGTERM && r.started_at_ms() != 0;
  }));
  for (const auto* pid_file : {"pid.1", "pid.2"})
    CHECK(::kill(f.wait_pid(f.dir.file(pid_file)), 0) == 0);
  CHECK(f.log->wait_for(is("1", 1, true)));
  CHECK(f.log->wait_for(is("2", 1, true)));
}

TEST_CASE("a newer attempt's start stops the older attempt still running, whose exit does not end "
          "the newer one") {
  supervisor_fixture f;
  f.start("1", 1, sleeper(f.dir.file("pid.1")));
  const pid_t older = f.wait_pid(f.dir.file("pid.1"));
  REQUIRE(f.log->wait_for(is("1", 1, true)));

  // The leader gave attempt 1 up (this slave was frozen) and placed attempt 2 here again.
  f.start("1", 2, sleeper(f.dir.file("pid.2")));
  const pid_t newer = f.wait_pid(f.dir.file("pid.2"));
  REQUIRE(wait_gone(older));
  REQUIRE(f.wait_full_report([](const pb::SlaveReport& r) { return !lists(r, "1", 1); }));

  auto report = f.full_report();
  REQUIRE(report.jobs_size() == 1);
  CHECK(report.jobs(0).attempt() == 2);
  CHECK(report.jobs(0).running());
  CHECK(::kill(newer, 0) == 0);
  CHECK_FALSE(f.log->any(is("1", 2, false)));
  CHECK_FALSE(f.log->any(is("1", 1, false))); // the leader has moved on from attempt 1
}

TEST_CASE("an older attempt that ignores SIGTERM is killed after the grace period, and listed as "
          "running until then") {
  supervisor_fixture f{1000ms};
  f.start("1", 1, sleeper(f.dir.file("pid.1"), true));
  const pid_t older = f.wait_pid(f.dir.file("pid.1")); // written after the trap is set
  f.start("1", 2, sleeper(f.dir.file("pid.2")));
  // Asked right after the start (the supervisor handles the two in order): a leader this slave
  // registers with now sees attempt 1 running and stops it as well.
  CHECK(lists(f.full_report(), "1", 1));
  REQUIRE(wait_gone(older));
  f.wait_pid(f.dir.file("pid.2"));
  CHECK(f.wait_full_report([](const pb::SlaveReport& r) { return !lists(r, "1", 1); }));
}

TEST_CASE("a stopping supervisor kills every process group it runs, older attempts included") {
  supervisor_fixture f{30000ms};
  f.start("1", 1, sleeper(f.dir.file("pid.1"), true));
  const pid_t older = f.wait_pid(f.dir.file("pid.1"));
  f.start("1", 2, sleeper(f.dir.file("pid.2")));
  const pid_t newer = f.wait_pid(f.dir.file("pid.2"));
  f.start("2", 1, sleeper(f.dir.file("pid.3")));
  const pid_t other = f.wait_pid(f.dir.file("pid.3"));
  caf::anon_send_exit(f.supervisor, caf::exit_reason::user_shutdown);
  CHECK(wait_gone(older)); // it ignores SIGTERM, and its grace period is far off
  CHECK(wait_gone(newer));
  CHECK(wait_gone(other));
}
