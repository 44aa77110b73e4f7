#pragma once
// The simulated connections between slaves, clients and masters (the masters' raft traffic has
// its own network, network.hpp). They behave like the TCP connections CAF keeps: nothing is lost
// or duplicated while a connection lives, each link delivers in the order it was sent after a
// drawn delay, and a cut link holds what it carries until it heals (TCP retransmits; CAF closes no
// connection for silence). What a dead process had in flight is lost with its sockets (drop), and
// what a frozen process does not read waits for it (hold; the receiver decides, world.cpp).

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "prng.hpp"

namespace claud::sim {

template<class Body>
class wire {
public:
  struct envelope {
    std::string from;
    std::string to;
    Body body;
  };

  wire(uint64_t seed, int min_delay_steps, int max_delay_steps)
      : rng_(seed), min_delay_(min_delay_steps), max_delay_(max_delay_steps) {}

  void send(std::string from, std::string to, Body body, uint64_t now) {
    auto link = std::make_pair(from, to);
    // In order per link: never due before what the link carries already.
    uint64_t due = now + static_cast<uint64_t>(rng_.between(min_delay_, max_delay_));
    auto& last = last_due_[link];
    due = std::max(due, last);
    last = due;
    queue_.emplace(std::make_pair(due, seq_++),
                   envelope{std::move(from), std::move(to), std::move(body)});
    ++sent_;
  }
  /// The messages due at `now`, in order; those on a cut link wait for it to heal.
  std::vector<envelope> take_due(uint64_t now) {
    std::vector<envelope> due, waiting;
    while (!queue_.empty() && queue_.begin()->first.first <= now) {
      auto node = queue_.extract(queue_.begin());
      auto& e = node.mapped();
      (connected(e.from, e.to) ? due : waiting).push_back(std::move(e));
    }
    for (auto& e : waiting)
      hold(std::move(e), now);
    return due;
  }
  /// Puts a message back for the next step, behind what its link carries already.
  void hold(envelope e, uint64_t now) {
    auto link = std::make_pair(e.from, e.to);
    auto& last = last_due_[link];
    last = std::max(last, now + 1);
    queue_.emplace(std::make_pair(last, seq_++), std::move(e));
  }
  /// Loses everything in flight to or from `id` (its process died: its sockets are gone).
  void drop(const std::string& id) {
    for (auto i = queue_.begin(); i != queue_.end();)
      if (i->second.from == id || i->second.to == id) {
        i = queue_.erase(i);
      } else {
        ++i;
      }
  }

  void cut(const std::string& a, const std::string& b) {
    cut_.insert({a, b});
    cut_.insert({b, a});
  }
  void heal() {
    cut_.clear();
  }
  bool connected(const std::string& from, const std::string& to) const {
    return !cut_.count({from, to});
  }
  bool touches(const std::string& id) const {
    for (const auto& [from, to] : cut_)
      if (from == id || to == id)
        return true;
    return false;
  }
  uint64_t sent() const {
    return sent_;
  }

private:
  prng rng_;
  int min_delay_;
  int max_delay_;
  std::map<std::pair<uint64_t, uint64_t>, envelope> queue_; // (due, send order)
  std::map<std::pair<std::string, std::string>, uint64_t> last_due_;
  std::set<std::pair<std::string, std::string>> cut_;
  uint64_t seq_ = 0;
  uint64_t sent_ = 0;
};

} // namespace claud::sim
