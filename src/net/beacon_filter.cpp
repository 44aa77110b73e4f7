#include "net/beacon_filter.hpp"

#include <utility>

#include "net/address.hpp"

namespace claud::net {

namespace {

bool valid_address(const std::string& address) {
  try {
    parse_host_port(address);
    return true;
  } catch (const std::invalid_argument&) {
    return false;
  }
}

} // namespace

beacon_filter::beacon_filter(beacon_filter_config config) : config_(std::move(config)) {}

beacon_verdict beacon_filter::drop(beacon_drop why) {
  count(why);
  return {why, false, false};
}

void beacon_filter::count(beacon_drop why) {
  ++dropped_[static_cast<size_t>(why)];
}

void beacon_filter::forget_before(int64_t oldest_ms) {
  for (auto it = senders_.begin(); it != senders_.end();)
    it = it->second.last_sent_at_ms < oldest_ms ? senders_.erase(it) : std::next(it);
}

beacon_verdict beacon_filter::admit(const pb::Beacon& beacon, int64_t now_ms) {
  if (beacon.cluster() != config_.cluster)
    return drop(beacon_drop::foreign_cluster);
  if (beacon.protocol_version() != beacon_protocol_version)
    return drop(beacon_drop::other_version);
  if (beacon.node_id().empty() || !valid_address(beacon.address()))
    return drop(beacon_drop::malformed);
  if (beacon.node_id() == config_.own_node_id)
    return {beacon_drop::replayed, true, false};
  const int64_t skew = beacon.sent_at_ms() - now_ms;
  if (skew > config_.max_skew_ms || skew < -config_.max_skew_ms)
    return drop(beacon_drop::skewed);
  auto key = beacon.node_id() + '/' + std::to_string(beacon.incarnation());
  auto found = senders_.find(key);
  if (found == senders_.end()) {
    if (senders_.size() >= config_.max_senders)
      forget_before(now_ms - config_.max_skew_ms);
    if (senders_.size() >= config_.max_senders)
      return drop(beacon_drop::too_many);
    found = senders_.emplace(std::move(key), sender{}).first;
  } else if (beacon.sent_at_ms() <= found->second.last_sent_at_ms) {
    return drop(beacon_drop::replayed);
  }
  auto& known = found->second;
  const bool news = known.last_sent_at_ms == 0 || known.role != beacon.role()
                    || known.address != beacon.address();
  known.last_sent_at_ms = beacon.sent_at_ms();
  known.role = beacon.role();
  known.address = beacon.address();
  ++admitted_;
  return {std::nullopt, false, news};
}

} // namespace claud::net
