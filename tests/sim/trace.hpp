#pragma once
// The recent events of a run (faults, elections, proposals, commits), kept in a ring so that a
// failure can show what led to it without the cost of logging every message of every step.

#include <cstdint>
#include <deque>
#include <ostream>
#include <string>

namespace claud::sim {

class trace {
public:
  explicit trace(size_t capacity = 60) : capacity_(capacity) {}

  /// Also print every event as it happens (claud-sim --trace).
  void echo_to(std::ostream* out) {
    echo_ = out;
  }
  bool echoing() const {
    return echo_ != nullptr;
  }

  void add(uint64_t step, std::string text) {
    if (echo_)
      *echo_ << "  [" << step << "] " << text << '\n';
    events_.push_back({step, std::move(text)});
    if (events_.size() > capacity_)
      events_.pop_front();
  }

  void dump(std::ostream& out) const {
    for (const auto& e : events_)
      out << "  [" << e.step << "] " << e.text << '\n';
  }

private:
  struct event {
    uint64_t step;
    std::string text;
  };
  size_t capacity_;
  std::deque<event> events_;
  std::ostream* echo_ = nullptr;
};

} // namespace claud::sim
