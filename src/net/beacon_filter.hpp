#pragma once
// Which authenticated beacons a node takes: of its cluster and protocol version, with a node id
// and a HOST:PORT address, not its own,
// newer than anything its sender sent before, and sent near the receiver's clock. The last
// condition bounds what must be remembered against replays: a beacon older than the allowed skew
// is refused whatever the table holds, so a sender not heard within it can be forgotten. Pure:
// the caller passes the clock.

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>

#include "discovery.pb.h"
#include "net/beacon_codec.hpp"

namespace claud::net {

struct beacon_filter_config {
  std::string cluster;     // --cluster-name
  std::string own_node_id; // this node's beacons come back to it: dropped without counting
  int64_t max_skew_ms = 60000;
  size_t max_senders = 4096; // senders remembered at most (each a few dozen bytes)
};

/// What admit() says of a beacon.
struct beacon_verdict {
  std::optional<beacon_drop> dropped; // set when it is not taken
  bool own = false;                   // this node's own beacon (dropped, not counted)
  bool news = false;                  // taken, and its sender, role or address is new
};

class beacon_filter {
public:
  explicit beacon_filter(beacon_filter_config config);

  /// Judges a beacon that decode_beacon authenticated, received at `now_ms`, and counts the
  /// drop. O(1) expected; when the table is full, O(senders) to forget the stale ones.
  beacon_verdict admit(const pb::Beacon& beacon, int64_t now_ms);

  /// Counts a datagram the codec refused (malformed, bad MAC).
  void count(beacon_drop why);

  /// Datagrams dropped so far, by beacon_drop.
  const std::array<uint64_t, beacon_drop_kinds>& dropped() const {
    return dropped_;
  }
  uint64_t admitted() const {
    return admitted_;
  }
  size_t senders() const {
    return senders_.size();
  }

private:
  struct sender {
    int64_t last_sent_at_ms = 0;
    pb::NodeRole role = pb::NODE_ROLE_UNSPECIFIED;
    std::string address;
  };

  beacon_verdict drop(beacon_drop why);
  void forget_before(int64_t oldest_ms);

  beacon_filter_config config_;
  std::unordered_map<std::string, sender> senders_; // by node id and incarnation
  std::array<uint64_t, beacon_drop_kinds> dropped_{};
  uint64_t admitted_ = 0;
};

} // namespace claud::net
