#include "network.hpp"

#include <algorithm>
#include <stdexcept>

namespace claud::sim {

network::network(std::vector<std::string> ids, uint64_t seed, network_options options)
    : ids_(std::move(ids)), rng_(seed) {
  set_options(options);
}

void network::set_options(const network_options& options) {
  if (options.min_delay_steps < 1 || options.max_delay_steps < options.min_delay_steps)
    throw std::invalid_argument("network delays must satisfy 1 <= min <= max");
  options_ = options;
}

void network::cut(const std::string& from, const std::string& to) {
  if (from != to)
    cut_.emplace(from, to);
}

void network::isolate(const std::string& id) {
  for (const auto& other : ids_) {
    cut(id, other);
    cut(other, id);
  }
}

void network::partition(const std::vector<std::string>& side) {
  for (const auto& a : side)
    for (const auto& b : ids_)
      if (std::find(side.begin(), side.end(), b) == side.end()) {
        cut(a, b);
        cut(b, a);
      }
}

void network::heal() {
  cut_.clear();
}

bool network::connected(const std::string& from, const std::string& to) const {
  return cut_.count({from, to}) == 0;
}

void network::send(pb::RaftMessage message, uint64_t now) {
  ++stats_.sent;
  if (rng_.chance(options_.loss)) {
    ++stats_.lost;
    return;
  }
  if (rng_.chance(options_.duplicate)) {
    ++stats_.duplicated;
    enqueue(message, now);
  }
  enqueue(std::move(message), now);
}

void network::enqueue(pb::RaftMessage message, uint64_t now) {
  if (queue_.size() >= options_.max_in_flight) {
    ++stats_.lost;
    return;
  }
  // At least one step: a reply never arrives within the step that caused it, so a step always ends.
  const auto delay
      = static_cast<uint64_t>(rng_.between(options_.min_delay_steps, options_.max_delay_steps));
  queue_.emplace(std::make_pair(now + delay, next_seq_++), std::move(message));
}

uint64_t network::last_due(const std::string& from, const std::string& to) const {
  uint64_t due = 0;
  for (const auto& [key, m] : queue_)
    if (m.from() == from && m.to() == to)
      due = key.first;
  return due;
}

std::vector<pb::RaftMessage> network::take_due(uint64_t now) {
  std::vector<pb::RaftMessage> due;
  auto end = queue_.upper_bound({now, UINT64_MAX});
  for (auto i = queue_.begin(); i != end; ++i) {
    if (!connected(i->second.from(), i->second.to())) {
      ++stats_.lost;
      continue;
    }
    ++stats_.delivered;
    due.push_back(std::move(i->second));
  }
  queue_.erase(queue_.begin(), end);
  return due;
}

} // namespace claud::sim
