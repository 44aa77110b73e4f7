// The master is SIGKILLed while clients are submitting and restarted on the same data dir: every
// submission a client saw acknowledged (it printed an id, before the crash or, after retrying, from
// the restarted master) is still there, the slave registers again before the grace period ends,
// and jobs that were pending, placed or running at the crash still run to the end.

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <mutex>
#include <set>
#include <thread>

#include <catch2/catch.hpp>

#include "cluster.hpp"

using namespace claud::test;

TEST_CASE("a master SIGKILLed after acknowledged submissions keeps them and finishes them") {
  cluster c;
  c.start_master("m");
  c.start_slave("s1", "1", "1G");

  // Four clients submit in a loop; each id a client printed is acknowledged. Half a CPU each on a
  // one-CPU slave, so most of them are still pending when the master dies.
  std::mutex mutex;
  std::set<std::string> acknowledged;
  std::atomic<bool> master_killed{false};
  std::vector<std::pair<bool, std::string>> refusals; // (after the kill?, what the client said)
  std::vector<std::thread> clients;
  for (int i = 0; i < 4; ++i)
    clients.emplace_back([&] {
      for (;;) {
        bool after_kill = master_killed;
        auto r = c.run(
            {"submit", "--cpus", "0.5", "--memory", "64M", "--", "sh", "-c", "sleep 0.4"}, 15s);
        std::lock_guard<std::mutex> lock(mutex);
        if (r.exit_code != 0) {
          refusals.emplace_back(after_kill || master_killed, r.describe());
          return; // refused (or cut off by the crash): this client stops
        }
        acknowledged.insert(r.out.substr(0, r.out.find('\n')));
        if (after_kill)
          return;
      }
    });
  auto join_clients = [&] {
    for (auto& t : clients)
      if (t.joinable())
        t.join();
  };
  // Also on a failure below: a std::thread destroyed unjoined would abort the test binary.
  struct joiner {
    std::function<void()> join;
    ~joiner() {
      join();
    }
  } join_at_exit{join_clients};
  try {
    c.wait_until("12 submissions are acknowledged", [&] {
      std::lock_guard<std::mutex> lock(mutex);
      return acknowledged.size() >= 12 || refusals.size() == clients.size();
    });
  } catch (...) {
    master_killed = true;
    c.kill("m", SIGKILL); // ends the clients' loops quickly
    throw;
  }
  master_killed = true;
  c.kill("m", SIGKILL); // clients are still submitting
  auto restarted_at = std::chrono::steady_clock::now();
  // Clients cut off by the crash retry for a while; some may reach the restarted master.
  c.restart("m");
  join_clients();
  INFO(acknowledged.size() << " acknowledged submissions");
  for (const auto& [after_kill, text] : refusals) {
    // Before the crash every submission succeeds.
    INFO(text);
    CHECK(after_kill);
  }
  REQUIRE(acknowledged.size() >= 12);

  {
    // Every acknowledged id survived the crash.
    auto jobs = c.jobs();
    std::set<std::string> present;
    for (const auto& job : jobs.items())
      present.insert(job["id"].str());
    for (const auto& id : acknowledged) {
      INFO("acknowledged job " << id << "; jobs after restart: " << jobs.dump());
      CHECK(present.count(id) == 1);
    }
  }

  {
    // The slave registers again and every job, whatever its state at the crash, runs to success.
    // That includes submissions whose clients were cut off by the crash but that had committed.
    std::vector<json> all;
    c.wait_until(
        "every job ends",
        [&] {
          all = c.jobs().items();
          return std::all_of(all.begin(), all.end(),
                             [](const json& j) { return is_terminal_state(j["state"].str()); });
        },
        40s, [&] { return c.run({"jobs"}).out; });
    CHECK(all.size() >= acknowledged.size());
    for (const auto& job : all) {
      INFO(job.dump());
      CHECK(job["state"].str() == "succeeded");
      CHECK(job["node"].str() == "s1");
    }
  }

  {
    // Past the registration grace period (1.5 s) the slave still counts as alive: it registered
    // with the new incarnation rather than being declared lost. This is the one deliberate wait
    // of the test: it checks that something does not happen.
    auto grace_over = restarted_at + std::chrono::milliseconds(2000);
    if (std::chrono::steady_clock::now() < grace_over)
      std::this_thread::sleep_until(grace_over);
    auto s1 = c.node_record("s1");
    INFO(s1.dump());
    REQUIRE(!s1.is_null());
    CHECK(s1["state"].str() == "alive");
    CHECK(s1["cpus_free"].num() == s1["cpus_total"].num());
    // And it takes new work.
    auto r = c.run({"submit", "--wait", "--json", "--", "echo", "after"});
    INFO(r.describe());
    REQUIRE(r.exit_code == 0);
    CHECK(json::parse(r.out)["node"].str() == "s1");
  }
}

TEST_CASE("a job whose last log record was cut on recovery ends as it did, without running again") {
  cluster c;
  c.start_master("m");
  c.start_slave("s1", "1", "1G");
  auto ran = c.root() + "/ran";
  auto id = c.submit({"sh", "-c", "echo once >> " + ran});
  REQUIRE(c.wait_job(id)["state"].str() == "succeeded");

  // The record that ended the job is the newest one: cut inside it, as a torn write would be.
  c.kill("m", SIGKILL);
  std::filesystem::path newest;
  for (const auto& file : std::filesystem::directory_iterator(c.node("m").data_dir + "/raft"))
    if (file.path().extension() == ".seg" && file.path() > newest)
      newest = file.path();
  REQUIRE(!newest.empty());
  std::filesystem::resize_file(newest, std::filesystem::file_size(newest) - 3);
  c.restart("m");

  // The log now leaves the job placed on s1, which ran it: s1 tells its end again when the
  // leader asks it to start it, instead of the job staying placed for ever.
  auto job = c.wait_job(id, 15s);
  INFO(job.dump());
  CHECK(job["state"].str() == "succeeded");
  CHECK(job["attempts"].num() == 1);
  std::ifstream lines{ran};
  CHECK(std::string{std::istreambuf_iterator<char>(lines), {}} == "once\n");
}
