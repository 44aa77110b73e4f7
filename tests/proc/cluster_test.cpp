// One master and two slaves as separate processes: jobs spread over both slaves within their
// resources, a job's end (success, exit code, user kill, command not found) reaches the CLI, and
// a job constrained to a slave's label runs there.

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <map>
#include <set>

#include <catch2/catch.hpp>

#include "cluster.hpp"

using namespace claud::test;

namespace {

/// Milliseconds since the epoch of a "YYYY-MM-DDTHH:MM:SS.mmmZ" time of the JSON views.
int64_t parse_time_ms(const std::string& text) {
  std::tm utc{};
  int millis = 0;
  if (sscanf(text.c_str(), "%d-%d-%dT%d:%d:%d.%dZ", &utc.tm_year, &utc.tm_mon, &utc.tm_mday,
             &utc.tm_hour, &utc.tm_min, &utc.tm_sec, &millis)
      != 7)
    throw std::runtime_error("not a time: " + text);
  utc.tm_year -= 1900;
  utc.tm_mon -= 1;
  return static_cast<int64_t>(timegm(&utc)) * 1000 + millis;
}

/// The largest number of jobs whose [started_at, finished_at) intervals overlap.
size_t max_overlap(const std::vector<json>& jobs) {
  std::vector<std::pair<int64_t, int>> events; // (time, +1 start / -1 end); ends sort first
  for (const auto& job : jobs) {
    events.emplace_back(parse_time_ms(job["started_at"].str()), +1);
    events.emplace_back(parse_time_ms(job["finished_at"].str()), -1);
  }
  std::sort(events.begin(), events.end());
  size_t now = 0;
  size_t most = 0;
  for (const auto& [time, delta] : events) {
    now += delta;
    most = std::max(most, now);
  }
  return most;
}

} // namespace

TEST_CASE("a master schedules jobs over two slaves and reports how each ended") {
  cluster c;
  c.start_master("m");
  c.start_slave("s1", "1", "1G", {"--label", "zone=a"});
  c.start_slave("s2", "1", "1G", {"--label", "zone=b", "--label", "disk=ssd"});

  {
    // 20 short jobs of half a CPU: all succeed, both slaves run some, and no slave ever runs more
    // than the two that fit in its one CPU.
    std::set<std::string> ids;
    for (int i = 0; i < 20; ++i)
      ids.insert(c.submit({"sh", "-c", "sleep 0.3"}, {"--cpus", "0.5", "--memory", "64M"}));
    REQUIRE(ids.size() == 20);
    std::vector<json> ours;
    c.wait_until(
        "the 20 jobs end",
        [&] {
          ours.clear();
          for (const auto& job : c.jobs().items())
            if (ids.count(job["id"].str()))
              ours.push_back(job);
          return ours.size() == 20 && std::all_of(ours.begin(), ours.end(), [](const json& j) {
                   return is_terminal_state(j["state"].str());
                 });
        },
        40s, [&] { return c.run({"jobs"}).out; });
    std::map<std::string, std::vector<json>> by_node;
    for (const auto& job : ours) {
      INFO(job.dump());
      CHECK(job["state"].str() == "succeeded");
      CHECK(job["exit_code"].num() == 0);
      CHECK(job["attempts"].num() == 1);
      by_node[job["node"].str()].push_back(job);
    }
    CHECK(by_node.size() == 2);
    CHECK(by_node.count("s1") == 1);
    CHECK(by_node.count("s2") == 1);
    for (const auto& [node, jobs] : by_node) {
      INFO("node " << node << " ran " << jobs.size() << " jobs");
      CHECK(max_overlap(jobs) <= 2);
    }
    // Every resource is free again.
    for (const auto& node : c.nodes().items()) {
      INFO(node.dump());
      CHECK(node["state"].str() == "alive");
      CHECK(node["cpus_free"].num() == node["cpus_total"].num());
      CHECK(node["memory_free_bytes"].num() == node["memory_total_bytes"].num());
    }
  }

  {
    // A job that exits 7 is failed with exit code 7, and `submit --wait` exits 7.
    auto r = c.run({"submit", "--wait", "--", "sh", "-c", "exit 7"});
    INFO(r.describe());
    CHECK(r.exit_code == 7);
    auto id = r.out.substr(0, r.out.find('\n'));
    auto job = c.job(id);
    INFO(job.dump());
    CHECK(job["state"].str() == "failed");
    CHECK(job["exit_code"].num() == 7);
  }

  {
    // `claud kill` stops a running job: it ends killed.
    auto id = c.submit({"sleep", "30"}, {"--cpus", "0.5"});
    c.wait_job_state(id, "running");
    auto r = c.run({"kill", id});
    INFO(r.describe());
    REQUIRE(r.exit_code == 0);
    auto job = c.wait_job(id, 10s);
    INFO(job.dump());
    CHECK(job["state"].str() == "killed");
  }

  {
    // A command that does not exist fails the job with a reason naming the command.
    auto r = c.run({"submit", "--wait", "--json", "--", "no-such-command-4711"});
    INFO(r.describe());
    CHECK(r.exit_code != 0);
    auto job = json::parse(r.out);
    CHECK(job["state"].str() == "failed");
    CHECK(job["reason"].str().find("no-such-command-4711") != std::string::npos);
    CHECK(job["exit_code"].is_null());
  }

  {
    // Labels reach the node view; a job constrained to zone=b runs on s2 even where bin-packing
    // and spreading would both have a choice; a zone no slave has is refused at submit.
    auto s2 = c.node_record("s2");
    INFO(s2.dump());
    CHECK(s2["labels"]["zone"].str() == "b");
    CHECK(s2["labels"]["disk"].str() == "ssd");
    CHECK(c.node_record("s1")["labels"]["zone"].str() == "a");
    for (const char* strategy : {"binpack", "spread"}) {
      auto id = c.submit({"true"}, {"--constraint", "zone=b", "--strategy", strategy});
      auto job = c.wait_job(id);
      INFO(job.dump());
      CHECK(job["state"].str() == "succeeded");
      CHECK(job["node"].str() == "s2");
      CHECK(job["constraints"][0].str() == "zone=b");
      CHECK(job["strategy"].str() == strategy);
    }
    auto r = c.run({"submit", "--constraint", "zone=c", "--", "true"});
    INFO(r.describe());
    CHECK(r.exit_code != 0);
    CHECK(r.err.find("it needs zone=c, which no known node has") != std::string::npos);
  }
}
