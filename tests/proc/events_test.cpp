// The event stream on real processes (DESIGN.md section 5, level 4): `claud events` followed
// across a SIGKILLed leader (resubscribed at the next master from the last index: no gap, no
// duplicate), a frozen subscriber too far behind (missed, a snapshot, then the stream again), a
// subscriber whose lease ran out (it resubscribes by itself), `claud wait`, which follows a job's
// events, across a SIGKILLed leader; and two ways a stream went wrong: a master frozen past the
// client's silence that sends on when it resumes, and a master that applies several entries at
// once (a follower catching up) telling them all as of the last.

#include <atomic>
#include <csignal>
#include <map>
#include <mutex>
#include <set>
#include <thread>
#include <tuple>
#include <vector>

#include <catch2/catch.hpp>

#include "cluster.hpp"

using namespace claud::test;

namespace {

using clock_type = std::chrono::steady_clock;

/// The lines `claud events --json` printed so far, parsed (a line that is not JSON fails).
std::vector<json> printed_events(const running_process& events) {
  std::vector<json> out;
  for (const auto& line : events.out_lines())
    out.push_back(json::parse(line));
  return out;
}

/// A line's job id, "" for a line about no job. (A line without the key fails the schema check
/// in check_stream, not here, so that the test says what is wrong with it.)
std::string job_of(const json& event) {
  return !event.has("job") || event["job"].is_null() ? std::string{} : event["job"].str();
}

/// The position of the first line of `kind` for `job` at or after `from`, or -1.
long find_event(const std::vector<json>& events, const std::string& kind, const std::string& job,
                size_t from = 0) {
  for (size_t i = from; i < events.size(); ++i)
    if (events[i]["kind"].str() == kind && job_of(events[i]) == job)
      return static_cast<long>(i);
  return -1;
}

/// Waits until `claud events` printed a line of `kind` for each of `jobs`; returns every line.
std::vector<json> wait_for_events(cluster& c, const running_process& events,
                                  const std::string& kind, const std::vector<std::string>& jobs,
                                  milliseconds timeout) {
  std::vector<json> seen;
  std::string missing;
  c.wait_until(
      "claud events printed " + kind + " for " + std::to_string(jobs.size()) + " jobs",
      [&] {
        seen = printed_events(events);
        missing.clear();
        for (const auto& id : jobs)
          if (find_event(seen, kind, id) < 0)
            missing += " " + id;
        return missing.empty();
      },
      timeout, [&] { return "no " + kind + " for" + missing + "; " + events.describe(); });
  return seen;
}

/// What every stream must hold: each line has every key of the README's schema (null where it
/// does not apply), indexes never go down, and no event comes twice.
void check_stream(const std::vector<json>& events) {
  static const char* const keys[] = {
      "index",     "time",   "kind",   "job",        "name",     "state", "attempt", "node",
      "exit_code", "signal", "reason", "node_state", "draining", "term",  "leader",  "missed_from"};
  double last = 0;
  std::set<std::tuple<double, std::string, std::string>> seen;
  for (const auto& event : events) {
    INFO(event.dump());
    for (const auto* key : keys) {
      INFO("key " << key);
      CHECK(event.has(key));
    }
    CHECK(event["index"].num() >= last);
    last = event["index"].num();
    CHECK(seen.emplace(event["index"].num(), event["kind"].str(), job_of(event)).second);
  }
}

size_t count_events(const std::vector<json>& events, const std::string& kind,
                    const std::string& job) {
  size_t n = 0;
  for (const auto& event : events)
    n += event["kind"].str() == kind && job_of(event) == job ? 1 : 0;
  return n;
}

/// `--cluster` with the leader first, so that a client talks to it until it dies.
std::string leader_first(cluster& c, const std::string& leader) {
  std::string list = c.address(leader);
  for (const auto& name : c.master_names())
    if (name != leader)
      list += "," + c.address(name);
  return list;
}

/// Joins the threads also when the test fails half-way; `stop` tells them to finish early.
struct worker_threads {
  std::atomic<bool> stop{false};
  std::vector<std::thread> threads;
  ~worker_threads() {
    stop = true;
    for (auto& t : threads)
      if (t.joinable())
        t.join();
  }
  void join() {
    for (auto& t : threads)
      t.join();
    threads.clear();
  }
};

} // namespace

TEST_CASE("claud events follows a SIGKILLed leader's successor with no gap and no duplicate") {
  cluster c;
  c.start_masters({"m1", "m2", "m3"});
  c.start_slave("s1", "4", "4G");
  c.start_slave("s2", "4", "4G");
  const auto leader = c.leader_name();
  auto& events = c.start_cli(
      {"events", "--jobs", "--json", "--from", "0", "--cluster", leader_first(c, leader)});

  std::mutex mutex;
  std::map<std::string, bool> acknowledged; // job id: whether it exits 0
  std::vector<std::string> failed;          // every submission is retried with its key
  {
    worker_threads submitter;
    submitter.threads.emplace_back([&] {
      for (int i = 0; i < 60 && !submitter.stop; ++i) {
        const bool succeeds = i % 2 == 0;
        auto r = succeeds ? c.run({"submit", "--cpus", "0.1", "--", "true"}, 30s)
                          : c.run({"submit", "--cpus", "0.1", "--", "sh", "-c", "exit 3"}, 30s);
        std::lock_guard<std::mutex> lock(mutex);
        if (r.exit_code == 0)
          acknowledged[r.out.substr(0, r.out.find('\n'))] = succeeds;
        else
          failed.push_back(r.describe());
      }
    });
    // The leader dies once the events client is seen streaming from it, with jobs to come.
    std::vector<std::string> early;
    c.wait_until(
        "20 submissions are acknowledged",
        [&] {
          std::lock_guard<std::mutex> lock(mutex);
          early.clear();
          for (const auto& [id, succeeds] : acknowledged)
            early.push_back(id);
          return early.size() >= 20;
        },
        30s);
    wait_for_events(c, events, "job-ended", {early.front()}, 15s);
    c.kill(leader, SIGKILL);
    submitter.join();
  }
  INFO((failed.empty() ? std::string{} : failed.front()));
  CHECK(failed.empty());
  REQUIRE(acknowledged.size() >= 50);

  std::vector<std::string> ids;
  std::vector<std::string> wait_args{"wait"};
  for (const auto& [id, succeeds] : acknowledged) {
    ids.push_back(id);
    wait_args.push_back(id);
  }
  auto waited = c.run(wait_args, 30s);
  INFO(waited.describe());
  REQUIRE_FALSE(waited.timed_out);
  for (const auto& [id, succeeds] : acknowledged)
    CHECK(waited.out.find(id + (succeeds ? " succeeded\n" : " failed")) != std::string::npos);

  auto seen = wait_for_events(c, events, "job-ended", ids, 30s);
  CHECK_FALSE(events.exited());
  INFO(events.describe());
  check_stream(seen);
  // Resumed from the last index, the stream needs neither a snapshot nor a missed notice.
  for (const auto& event : seen) {
    INFO(event.dump());
    CHECK(event["kind"].str() != "missed");
    CHECK(event["kind"].str() != "job-state");
  }
  for (const auto& [id, succeeds] : acknowledged) {
    INFO("job " << id);
    CHECK(count_events(seen, "job-submitted", id) == 1);
    CHECK(count_events(seen, "job-ended", id) == 1);
    auto submitted = find_event(seen, "job-submitted", id);
    auto ended = find_event(seen, "job-ended", id);
    REQUIRE(submitted >= 0);
    REQUIRE(ended > submitted);
    const auto& end = seen[static_cast<size_t>(ended)];
    INFO(end.dump());
    CHECK(end["state"].str() == (succeeds ? "succeeded" : "failed"));
    CHECK(end["exit_code"].num() == (succeeds ? 0 : 3));
  }
}

TEST_CASE("a frozen subscriber too far behind gets missed and a snapshot, then the stream") {
  cluster c;
  // A lease far longer than the freeze: what the master does is the lag bound's doing.
  c.start_dev("dev", {"--event-max-lag", "20", "--event-lease-ms", "60000"});
  // A live job, so that the snapshot standing in for the missed events is not empty.
  const auto sleeper = c.submit({"sleep", "60"}, {"--cpus", "0.1"});
  c.wait_job_state(sleeper, "running");
  auto& events = c.start_cli({"events", "--jobs", "--json", "--from", "0"});
  wait_for_events(c, events, "job-started", {sleeper}, 15s);
  const auto before = printed_events(events).size();

  // Frozen while 48 jobs run (some 150 events, seven times the lag bound), submitted four at a
  // time: the freeze must stay well under the client's 3 s silence timer, after which it would
  // give the subscription up and resubscribe with --from instead, which is not this case.
  events.signal(SIGSTOP);
  const auto frozen_at = clock_type::now();
  std::mutex mutex;
  std::vector<std::string> ids;
  {
    worker_threads submitters;
    for (int t = 0; t < 4; ++t)
      submitters.threads.emplace_back([&] {
        for (int i = 0; i < 12 && !submitters.stop; ++i) {
          auto id = c.submit({"true"}, {"--cpus", "0.1"});
          std::lock_guard<std::mutex> lock(mutex);
          ids.push_back(id);
        }
      });
    submitters.join();
  }
  std::vector<std::string> wait_args{"wait"};
  wait_args.insert(wait_args.end(), ids.begin(), ids.end());
  auto waited = c.run(wait_args, 30s);
  INFO(waited.describe());
  REQUIRE(waited.exit_code == 0);
  // Frozen, it printed nothing more.
  REQUIRE(printed_events(events).size() == before);
  events.signal(SIGCONT);
  INFO("frozen for "
       << std::chrono::duration_cast<milliseconds>(clock_type::now() - frozen_at).count() << " ms");

  std::vector<json> seen;
  c.wait_until(
      "claud events prints a missed notice",
      [&] {
        seen = printed_events(events);
        return find_event(seen, "missed", "") >= 0;
      },
      15s, [&] { return events.describe(); });
  const auto missed_at = static_cast<size_t>(find_event(seen, "missed", ""));
  const auto missed = seen[missed_at];
  INFO(missed.dump());
  const double missed_from = missed["missed_from"].num();
  const double snapshot_index = missed["index"].num();
  CHECK(missed_from > 0);
  CHECK(missed_from <= snapshot_index);
  // The lines before it are all older than what it stands in for: nothing is told twice.
  for (size_t i = 0; i < missed_at; ++i)
    CHECK(seen[i]["index"].num() < missed_from);

  // The snapshot follows at its index: the live job, not the ended ones.
  const auto last = c.submit({"true"});
  seen = wait_for_events(c, events, "job-ended", {last}, 15s);
  INFO(events.describe());
  check_stream(seen);
  const auto state_at = find_event(seen, "job-state", sleeper, missed_at);
  REQUIRE(state_at > static_cast<long>(missed_at));
  CHECK(seen[static_cast<size_t>(state_at)]["index"].num() == snapshot_index);
  CHECK(seen[static_cast<size_t>(state_at)]["state"].str() == "running");
  for (size_t i = missed_at + 1; i < seen.size(); ++i) {
    INFO(seen[i].dump());
    if (seen[i]["kind"].str() == "job-state") {
      CHECK(seen[i]["index"].num() == snapshot_index);
      CHECK(job_of(seen[i]) == sleeper);
    } else {
      CHECK(seen[i]["index"].num() > snapshot_index);
    }
  }
  // Then the stream: the job submitted after it, whole.
  CHECK(count_events(seen, "job-submitted", last) == 1);
  CHECK(count_events(seen, "job-ended", last) == 1);
  CHECK(find_event(seen, "job-submitted", last) > state_at);
}

TEST_CASE("a subscriber whose lease ran out resubscribes by itself and misses nothing") {
  cluster c;
  // The harness logs at info for every module, so the event hub's `subscription dropped` shows.
  c.start_dev("dev", {"--event-lease-ms", "1000"});
  auto drops = [&] {
    const auto log = c.node_stderr("dev");
    size_t n = 0;
    for (auto at = log.find("subscription dropped"); at != std::string::npos;
         at = log.find("subscription dropped", at + 1))
      ++n;
    return n;
  };
  auto& events = c.start_cli({"events", "--jobs", "--json", "--from", "0"});
  const auto first = c.submit({"true"});
  wait_for_events(c, events, "job-ended", {first}, 15s);

  // A subscriber that acknowledges every batch keeps its lease while nothing happens: watched
  // for three leases (a deliberate window, since what is checked is that nothing happens).
  const auto watch_until = clock_type::now() + 3s;
  while (clock_type::now() < watch_until && drops() == 0)
    std::this_thread::sleep_for(50ms);
  INFO(c.node_stderr("dev"));
  CHECK(drops() == 0);

  const auto dropped_before = drops();
  events.signal(SIGSTOP);
  c.wait_until(
      "the master drops the frozen subscriber", [&] { return drops() > dropped_before; }, 10s,
      [&] { return tail(c.node_stderr("dev")); });
  // Committed while it has no subscription at all: the resubscription's --from must bring it.
  const auto during = c.submit({"sh", "-c", "exit 3"});
  c.wait_job(during);
  events.signal(SIGCONT);
  const auto after = c.submit({"true"});
  auto seen = wait_for_events(c, events, "job-ended", {first, during, after}, 15s);
  INFO(events.describe());
  CHECK_FALSE(events.exited());
  check_stream(seen);
  for (const auto& id : {first, during, after}) {
    INFO("job " << id);
    CHECK(count_events(seen, "job-submitted", id) == 1);
    CHECK(count_events(seen, "job-ended", id) == 1);
  }
  CHECK(seen[static_cast<size_t>(find_event(seen, "job-ended", during))]["exit_code"].num() == 3);
  CHECK(find_event(seen, "missed", "") < 0);
}

TEST_CASE("claud wait follows a job's events across the leader's SIGKILL") {
  cluster c;
  c.start_masters({"m1", "m2", "m3"});
  c.start_slave("s1", "2", "1G");
  const auto leader = c.leader_name();
  const auto id = c.submit({"sleep", "2"});
  auto& waiting = c.start_cli({"wait", id, "--cluster", leader_first(c, leader)});
  // The leader dies while the job runs: the wait is subscribed there by then, or still on its
  // way; either way it must find the next master and follow the job's end there.
  c.wait_job_state(id, "running");
  c.kill(leader, SIGKILL);
  CHECK(waiting.wait_exit(20s) == 0);
  INFO(waiting.describe());
  CHECK(waiting.out() == id + " succeeded\n");
  CHECK(c.job(id)["state"].str() == "succeeded");
}

TEST_CASE("a master that was frozen past the client's silence sends nothing the client takes") {
  cluster c;
  // A lease longer than the freeze: the frozen master still holds the subscription on resuming.
  c.start_masters({"m1", "m2", "m3"}, {"--event-lease-ms", "20000"});
  c.start_slave("s1", "4", "4G");
  const auto leader = c.leader_name();
  std::string frozen;
  for (const auto& name : c.master_names())
    if (name != leader)
      frozen = name;
  std::string list = c.address(frozen); // the client's master: a follower, so no election
  for (const auto& name : c.master_names())
    if (name != frozen)
      list += "," + c.address(name);
  auto& events = c.start_cli({"events", "--jobs", "--json", "--from", "0", "--cluster", list});
  std::vector<std::string> ids{c.submit({"true"})};
  wait_for_events(c, events, "job-ended", ids, 15s);
  c.kill(frozen, SIGSTOP);
  // Silent for 3 s, the master is given up: the client resubscribes at the next one.
  ids.push_back(c.submit({"true"}));
  wait_for_events(c, events, "job-ended", ids, 15s);
  c.kill(frozen, SIGCONT);
  c.wait_masters_in_sync();
  // The resumed master sends on under its own subscription number, which the next master gave
  // the client's new subscription too (each numbers from 1).
  ids.push_back(c.submit({"true"}));
  auto seen = wait_for_events(c, events, "job-ended", ids, 15s);
  INFO(events.describe());
  check_stream(seen);
  for (const auto& id : ids) {
    INFO("job " << id);
    CHECK(count_events(seen, "job-submitted", id) == 1);
    CHECK(count_events(seen, "job-ended", id) == 1);
  }
}

TEST_CASE("a master applying several entries at once tells each one's events as of it") {
  cluster c;
  c.start_masters({"m1", "m2", "m3"});
  c.start_slave("s1", "4", "4G");
  const auto leader = c.leader_name();
  std::string behind;
  for (const auto& name : c.master_names())
    if (name != leader)
      behind = name;
  // Frozen while jobs run, the follower applies their entries in one go when it resumes.
  c.kill(behind, SIGSTOP);
  std::vector<std::string> ids;
  for (int i = 0; i < 3; ++i) {
    ids.push_back(c.submit({"true"}));
    c.wait_job(ids.back());
  }
  c.kill(behind, SIGCONT);
  c.wait_masters_in_sync();
  auto lines_at = [&](const std::string& name) {
    auto& events
        = c.start_cli({"events", "--jobs", "--json", "--from", "0", "--cluster", c.address(name)});
    std::vector<std::string> lines;
    for (const auto& e : wait_for_events(c, events, "job-ended", ids, 15s))
      lines.push_back(std::to_string(static_cast<long>(e["index"].num())) + " " + e["kind"].str()
                      + " " + job_of(e) + " " + e["state"].str());
    return lines;
  };
  // Every master tells the same events for the same entries.
  CHECK(lines_at(behind) == lines_at(leader));
}
