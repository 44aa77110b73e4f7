#pragma once
// Pieces of the chaos suite (chaos_test.cpp): what a client submitted and saw, what a fault
// touched and when, the jobs of the stream, times as claud prints them, and the processes left.

#include <dirent.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "cluster.hpp"

namespace claud::test::chaos {

using std::chrono::system_clock;

inline uint64_t env_number(const char* name, uint64_t fallback) {
  const char* text = std::getenv(name);
  return text != nullptr && *text != '\0' ? std::strtoull(text, nullptr, 10) : fallback;
}

/// Milliseconds since the epoch of an RFC 3339 UTC time as claud prints it
/// (2026-11-23T04:00:27.258Z).
inline int64_t parse_time_ms(const std::string& text) {
  std::tm tm{};
  int ms = 0;
  char fraction[16] = {0};
  if (std::sscanf(text.c_str(), "%d-%d-%dT%d:%d:%d.%15[0-9]", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                  &tm.tm_hour, &tm.tm_min, &tm.tm_sec, fraction)
      < 6)
    fail("not an RFC 3339 time: " + text);
  std::string digits = std::string{fraction} + "000";
  ms = std::stoi(digits.substr(0, 3));
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  return static_cast<int64_t>(::timegm(&tm)) * 1000 + ms;
}

inline int64_t wall_ms() {
  return std::chrono::duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

inline std::string format_ms(int64_t ms) {
  std::time_t seconds = ms / 1000;
  std::tm tm{};
  ::gmtime_r(&seconds, &tm);
  char text[40];
  std::snprintf(text, sizeof text, "%02d:%02d:%02d.%03dZ", tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(ms % 1000));
  return text;
}

/// One submission as its client saw it.
struct submission {
  std::string name; // unique: c<client>-<n>
  std::vector<std::string> args;
  bool never_fail = false; // --restart never --on-node-lost fail
  bool never = false;      // --restart never (the default)
  enum { acknowledged, refused, ambiguous } outcome = refused;
  std::string id;     // when acknowledged
  std::string answer; // exit code and stderr, when not acknowledged
};

/// One fault: the nodes it touched and when (wall clock ms, as claud's history times).
struct fault {
  std::string what;
  std::vector<std::string> nodes;
  int64_t begin_ms = 0;
  int64_t end_ms = 0; // once every node touched runs again
};

/// Jobs of the stream: short ones, long ones that print their pid, and every restart policy.
inline submission draw_submission(std::mt19937_64& rng, const std::string& name) {
  submission s;
  s.name = name;
  s.args = {"submit", "--json", "--name", name};
  auto pick = std::uniform_int_distribution<int>(0, 99)(rng);
  auto sleep_cmd = [&](int low, int high) {
    auto seconds = std::uniform_int_distribution<int>(low, high)(rng);
    return std::vector<std::string>{"sh", "-c", "echo $$; exec sleep " + std::to_string(seconds)};
  };
  std::vector<std::string> options;
  std::vector<std::string> command;
  if (pick < 40) {
    command = pick % 2 == 0 ? std::vector<std::string>{"true"}
                            : std::vector<std::string>{"sleep", "0.2"};
  } else if (pick < 55) {
    command = sleep_cmd(3, 20);
  } else if (pick < 75) {
    options = {"--restart", "never", "--on-node-lost", "fail"};
    command = pick % 2 == 0 ? std::vector<std::string>{"sleep", "0.2"} : sleep_cmd(1, 10);
    s.never_fail = true;
  } else if (pick < 93) {
    options = {"--restart", "on-failure", "--backoff-ms", "100"};
    auto code = std::uniform_int_distribution<int>(0, 2)(rng) == 0 ? "0" : "3";
    command = {"sh", "-c", std::string{"sleep 0.3; exit "} + code};
  } else if (pick < 97) {
    options = {"--restart", "always", "--max-attempts", "2", "--backoff-ms", "100"};
    command = {"sleep", "0.5"};
  } else { // refused at once: no node could ever run it
    options = {"--cpus", "64"};
    command = {"true"};
  }
  s.never = options.empty() || options[1] == "never" || options[0] == "--cpus";
  s.args.insert(s.args.end(), options.begin(), options.end());
  s.args.emplace_back("--");
  s.args.insert(s.args.end(), command.begin(), command.end());
  return s;
}

/// Processes whose parent is this test and that have not ended (zombies are ended), with their
/// command lines.
inline std::vector<std::string> live_children() {
  std::vector<std::string> found;
  const std::string self = std::to_string(::getpid());
  DIR* proc = ::opendir("/proc");
  if (proc == nullptr)
    return found;
  while (auto* entry = ::readdir(proc)) {
    std::string pid = entry->d_name;
    if (pid.empty() || pid.find_first_not_of("0123456789") != std::string::npos)
      continue;
    auto status = read_file("/proc/" + pid + "/status");
    bool child = status.find("\nPPid:\t" + self + "\n") != std::string::npos;
    bool zombie = status.find("\nState:\tZ") != std::string::npos;
    if (!child || zombie)
      continue;
    auto cmdline = read_file("/proc/" + pid + "/cmdline");
    std::replace(cmdline.begin(), cmdline.end(), '\0', ' ');
    found.push_back(pid + ": " + cmdline);
  }
  ::closedir(proc);
  return found;
}

/// Sets the flag and joins the client threads, also when the test fails half-way.
struct client_threads {
  std::atomic<bool>& stop;
  std::vector<std::thread> threads;
  ~client_threads() {
    stop = true;
    for (auto& t : threads)
      if (t.joinable())
        t.join();
  }
};

} // namespace claud::test::chaos
