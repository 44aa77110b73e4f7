// The harness's questions to the cluster (cluster.hpp): the CLI run against it, its answers as
// JSON, and the waits built on them. cluster.cpp starts, stops and ends the processes.
#include <algorithm>
#include <chrono>
#include <thread>

#include "cluster.hpp"

namespace claud::test {

std::string cluster::leader_name(milliseconds timeout) {
  std::string leader;
  std::string last;
  wait_until(
      "a master leads",
      [&] {
        auto r = run({"leader", "--json"}, 5s);
        last = r.describe();
        if (r.exit_code != 0)
          return false;
        auto address = json::parse(r.out)["leader"]["address"].str();
        for (const auto& [name, p] : nodes_)
          if (p.address == address && p.pid != 0)
            leader = name;
        return !leader.empty();
      },
      timeout, [&] { return last; });
  return leader;
}

std::string cluster::leader_other_than(const std::string& former, milliseconds timeout) {
  std::string leader;
  wait_until(
      "another master leads",
      [&] {
        leader = leader_name(timeout);
        return leader != former;
      },
      timeout);
  return leader;
}

void cluster::wait_masters_in_sync(milliseconds timeout) {
  std::string last;
  wait_until(
      "every master holds the leader's whole log",
      [&] {
        auto r = run({"leader", "--json"}, 5s);
        last = r.describe();
        if (r.exit_code != 0)
          return false;
        auto info = json::parse(r.out);
        double leader_match = -1;
        std::vector<double> matches;
        for (const auto& m : info["masters"].items()) {
          if (m["role"].str() == "leader")
            leader_match = m["match_index"].num();
          matches.push_back(m["match_index"].num());
        }
        for (auto match : matches)
          if (match != leader_match)
            return false;
        return matches.size() == master_names().size();
      },
      timeout, [&] { return last; });
}

run_result cluster::run(std::vector<std::string> args, milliseconds timeout) const {
  return run_process(command_line(std::move(args)), timeout);
}

run_result cluster::run_raw(std::vector<std::string> args, milliseconds timeout) const {
  args.insert(args.begin(), binary());
  return run_process(args, timeout);
}

json cluster::run_json(std::vector<std::string> args, milliseconds timeout) const {
  std::string what;
  for (const auto& a : args)
    what += " " + a;
  if (std::find(args.begin(), args.end(), "--json") == args.end())
    args.insert(args.begin() + 1, "--json");
  auto r = run(std::move(args), timeout);
  if (r.exit_code != 0)
    fail("`claud" + what + "` failed: " + r.describe());
  return json::parse(r.out);
}

std::string cluster::submit(const std::vector<std::string>& command,
                            const std::vector<std::string>& options) const {
  std::vector<std::string> args{"submit"};
  args.insert(args.end(), options.begin(), options.end());
  args.push_back("--");
  args.insert(args.end(), command.begin(), command.end());
  return run_json(std::move(args))["id"].str();
}

json cluster::job(const std::string& id) const {
  return run_json({"status", id});
}

json cluster::jobs() const {
  return run_json({"jobs"});
}

json cluster::nodes() const {
  return run_json({"nodes"});
}

json cluster::node_record(const std::string& node_id) const {
  for (const auto& n : nodes().items())
    if (n["id"].str() == node_id)
      return n;
  return json::parse("null");
}

void cluster::wait_until(const std::string& what, const std::function<bool()>& predicate,
                         milliseconds timeout, const std::function<std::string()>& describe) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (predicate())
      return;
    if (std::chrono::steady_clock::now() > deadline)
      fail("timed out after " + std::to_string(timeout.count()) + " ms waiting until " + what
           + (describe ? "; now: " + describe() : std::string{}));
    std::this_thread::sleep_for(50ms);
  }
}

json cluster::wait_job(const std::string& id, milliseconds timeout) {
  json last;
  wait_until(
      "job " + id + " ends",
      [&] {
        last = job(id);
        return is_terminal_state(last["state"].str());
      },
      timeout, [&] { return last.dump(); });
  return last;
}

json cluster::wait_running_on(const std::string& id, const std::string& node,
                              milliseconds timeout) {
  json last;
  wait_until(
      "job " + id + " runs on " + node,
      [&] {
        last = job(id);
        return last["state"].str() == "running" && last["node"].str() == node;
      },
      timeout, [&] { return last.dump(); });
  return last;
}

pid_t cluster::wait_printed_pid(const std::string& id, milliseconds timeout) {
  std::string out;
  wait_until(
      "job " + id + " printed its pid",
      [&] {
        auto r = run({"logs", id});
        out = r.out;
        return r.exit_code == 0 && out.find('\n') != std::string::npos;
      },
      timeout, [&] { return out; });
  return static_cast<pid_t>(std::stoi(out));
}

json cluster::wait_job_state(const std::string& id, const std::string& state,
                             milliseconds timeout) {
  json last;
  wait_until(
      "job " + id + " is " + state,
      [&] {
        last = job(id);
        return last["state"].str() == state;
      },
      timeout, [&] { return last.dump(); });
  return last;
}

} // namespace claud::test
