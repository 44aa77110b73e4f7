// The chaos run's checks at the end (chaos_run.hpp; chaos_test.cpp's header lists them).

#include <iostream>
#include <sstream>

#include "chaos_run.hpp"

namespace claud::test::chaos {

namespace {

/// A job document in one fixed order: protobuf prints a JSON object's keys in no fixed order.
std::string canonical(const json& job) {
  static const std::vector<std::string> job_keys{
      "id",       "name",         "state",      "exit_code",    "signal",      "node",
      "attempts", "submitted_at", "started_at", "finished_at",  "reason",      "command",
      "cpus",     "memory_bytes", "restart",    "max_attempts", "constraints", "strategy"};
  static const std::vector<std::string> event_keys{"time",      "attempt", "state", "node",
                                                   "exit_code", "signal",  "reason"};
  auto fields = [](const json& object, const std::vector<std::string>& keys) {
    std::string out;
    for (const auto& key : keys)
      out += key + "=" + (object.has(key) ? object[key].dump() : std::string{"-"}) + " ";
    return out;
  };
  std::string out = fields(job, job_keys) + "history=[";
  for (const auto& event : job["history"].items())
    out += "{" + fields(event, event_keys) + "}";
  return out + "]";
}

} // namespace

void chaos_run::check() {
  std::map<std::string, const submission*> by_name;
  for (const auto& s : submissions_)
    by_name[s.name] = &s;

  // 1. Every master holds the same jobs; --local may lag the commit index briefly, so poll.
  std::vector<std::map<std::string, json>> held(masters_.size());
  auto read_all = [&] {
    for (size_t i = 0; i < masters_.size(); ++i) {
      held[i].clear();
      for (const auto& job :
           c_.run_json({"jobs", "--local", "--json", "--cluster", c_.address(masters_[i])}, 30s)
               .items())
        held[i][job["id"].str()] = job;
    }
    for (size_t i = 1; i < held.size(); ++i) {
      if (held[i].size() != held[0].size())
        return false;
      for (const auto& [id, job] : held[0])
        if (!held[i].count(id) || canonical(held[i].at(id)) != canonical(job))
          return false;
    }
    return true;
  };
  auto deadline = steady::now() + 10s;
  while (!read_all() && steady::now() < deadline)
    std::this_thread::sleep_for(200ms);
  final_jobs_ = held[0];
  for (const auto& s : submissions_) {
    if (s.outcome != submission::acknowledged)
      continue;
    for (size_t i = 0; i < masters_.size(); ++i) {
      auto it = held[i].find(s.id);
      if (it == held[i].end())
        problem("check 1: acknowledged job " + s.id + " (" + s.name + ") is missing on "
                    + masters_[i],
                s.id);
      else if (i > 0 && held[0].count(s.id) && canonical(it->second) != canonical(held[0].at(s.id)))
        problem("check 1: job " + s.id + " differs between " + masters_[0] + " and " + masters_[i]
                    + ":\n    " + canonical(held[0].at(s.id)) + "\n    " + canonical(it->second),
                s.id);
    }
  }
  for (size_t i = 1; i < masters_.size(); ++i)
    if (held[i].size() != held[0].size())
      problem("check 1: " + masters_[0] + " holds " + std::to_string(held[0].size()) + " jobs, "
              + masters_[i] + " " + std::to_string(held[i].size()));

  std::set<std::string> names_seen;
  for (const auto& [id, job] : held[0]) {
    const auto name = job["name"].str();
    const auto state = job["state"].str();
    // 4. Each job comes from exactly one submission that was acknowledged (with this id) or
    // ambiguous, never from a refused one.
    auto sub = by_name.find(name);
    if (sub == by_name.end()) {
      problem("check 4: job " + id + " (" + name + ") matches no submission", id);
      continue;
    }
    const auto& s = *sub->second;
    if (!names_seen.insert(name).second)
      problem("check 4: submission " + name + " became more than one job", id);
    if (s.outcome == submission::refused)
      problem("check 4: refused submission " + name + " became job " + id
                  + "; the client saw: " + s.answer,
              id);
    if (s.outcome == submission::acknowledged && s.id != id)
      problem("check 4: submission " + name + " was acknowledged as job " + s.id + " but is job "
                  + id,
              id);
    // 2. It ended.
    if (!is_terminal_state(state))
      problem("check 2: job " + id + " is " + state + ", not ended", id);

    // 3. Attempts: within the limit; a --restart never job again only after a lost attempt.
    auto attempts = static_cast<uint32_t>(job["attempts"].num());
    auto max_attempts = static_cast<uint32_t>(job["max_attempts"].num());
    if (max_attempts != 0 && attempts > max_attempts)
      problem("check 3: job " + id + " ran " + std::to_string(attempts) + " attempts of at most "
                  + std::to_string(max_attempts),
              id);
    std::set<uint32_t> started;
    std::map<uint32_t, std::string> ended_as; // attempt -> the state it ended in
    for (const auto& event : job["history"].items()) {
      auto attempt = static_cast<uint32_t>(event["attempt"].num());
      const auto event_state = event["state"].str();
      if (event_state == "running")
        started.insert(attempt);
      if (is_terminal_state(event_state))
        ended_as[attempt] = event_state;
      // 5. A lost attempt: its slave was touched by a fault, during the fault or soon after.
      if (event_state == "lost") {
        auto node = event["node"].is_null() ? std::string{} : event["node"].str();
        auto time = parse_time_ms(event["time"].str());
        ++lost_attempts_;
        bool explained = false;
        for (const auto& f : faults_)
          if (std::count(f.nodes.begin(), f.nodes.end(), node) && f.begin_ms <= time
              && (f.end_ms == 0 || time <= f.end_ms + 10000))
            explained = true;
        if (!explained)
          problem("check 5: job " + id + " attempt " + std::to_string(attempt) + " was lost on "
                      + (node.empty() ? "no node" : node) + " at " + format_ms(time)
                      + " with no fault on that slave then",
                  id);
      }
    }
    if (started.size() > attempts)
      problem("check 3: job " + id + " started " + std::to_string(started.size())
                  + " attempts but counts " + std::to_string(attempts),
              id);
    if (s.never_fail && (attempts > 1 || started.size() > 1))
      problem("check 3: --restart never --on-node-lost fail job " + id + " ran "
                  + std::to_string(attempts) + " attempts",
              id);
    if (s.never)
      for (uint32_t attempt : started)
        if (attempt > 1 && ended_as.count(attempt - 1) && ended_as[attempt - 1] != "lost")
          problem("check 3: --restart never job " + id + " ran attempt " + std::to_string(attempt)
                      + " after attempt " + std::to_string(attempt - 1) + " ended "
                      + ended_as[attempt - 1],
                  id);
  }
}

/// 6 and 7: every node exits cleanly on SIGTERM, in an order the seed picks, and leaves no job.
} // namespace claud::test::chaos
