#pragma once
// The chaos suite's run (chaos_test.cpp tells its story and injects the faults; chaos_checks.cpp
// makes the checks at the end).

#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <type_traits>
#include <vector>

#include "chaos_support.hpp"
#include "cluster.hpp"

namespace claud::test::chaos {

inline const std::string ambiguous_text = "may or may not have been applied";
inline const std::string reproduce_binary = "build/tests/proc/chaos_test";

class chaos_run {
public:
  chaos_run(uint64_t seed, uint64_t seconds) : seed_(seed), seconds_(seconds), rng_(seed) {}

  void run();

private:
  using steady = std::chrono::steady_clock;

  template<class T>
  T uniform(T low, T high) {
    if constexpr (std::is_integral_v<T>)
      return std::uniform_int_distribution<T>(low, high)(rng_);
    else
      return std::uniform_real_distribution<T>(low, high)(rng_);
  }
  milliseconds uniform_ms(int low, int high) {
    return milliseconds{uniform<int>(low, high)};
  }
  template<class C>
  const auto& any_of(const C& items) {
    return items[uniform<size_t>(0, items.size() - 1)];
  }

  void client(int index, uint64_t client_seed, std::string cluster_arg);
  void inject_fault();
  void heal();
  void settle();
  void check();
  void stop_everything();
  void report_failure();
  void problem(const std::string& text, const std::string& job_id = {}) {
    problems_.push_back(text);
    if (!job_id.empty())
      failing_jobs_.insert(job_id);
  }

  fault& begin(const std::string& what, std::vector<std::string> nodes) {
    faults_.push_back({what, std::move(nodes), wall_ms(), 0});
    return faults_.back();
  }
  void end(fault& f) {
    f.end_ms = wall_ms();
  }

  uint64_t seed_;
  uint64_t seconds_;
  std::mt19937_64 rng_;
  cluster c_;
  std::vector<std::string> masters_;
  std::vector<std::string> slaves_{"s1", "s2", "s3"};
  std::atomic<bool> stop_clients_{false};
  std::mutex mutex_;
  std::vector<submission> submissions_;
  std::vector<fault> faults_;
  int64_t start_ms_ = 0;
  std::vector<std::string> problems_;
  std::set<std::string> failing_jobs_;
  std::map<std::string, json> final_jobs_; // id -> the job on the first master, at the end
  size_t lost_attempts_ = 0;
};

} // namespace claud::test::chaos
