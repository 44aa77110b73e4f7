#pragma once
// beacon_service: a node's UDP discovery, on a thread of its own (Asio; CAF does not own these
// sockets). Every `interval` it broadcasts this node's beacon; it reads every datagram sent to
// its port, drops what beacon_codec and beacon_filter refuse (counted, and logged at most once
// per kind every `log_interval` with the sender's address and the count so far), and calls
// `on_news` with each beacon that tells of a new node, role or address. The socket shares its port
// (SO_REUSEADDR), so the nodes of one machine all hear the beacons sent to it.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "discovery.pb.h"
#include "net/address.hpp"
#include "net/beacon_codec.hpp"

namespace claud::net {

struct beacon_service_config {
  pb::Beacon self;       // this node's beacon; sent_at_ms is stamped on each send
  std::string secret;    // the cluster secret (net/cluster_secret.hpp)
  host_port destination; // where beacons go: a broadcast address (or a host) and the port
  std::chrono::milliseconds interval{1000};
  std::chrono::milliseconds log_interval{10000};
  int64_t max_skew_ms = 60000;
  // Called on the service's thread with a beacon from `from` (HOST:PORT it was sent from).
  std::function<void(const pb::Beacon& beacon, const std::string& from)> on_news;
};

class beacon_service {
public:
  /// Binds 0.0.0.0:destination.port and starts the thread. Throws std::runtime_error with one
  /// line when the port cannot be bound or the destination does not resolve.
  explicit beacon_service(beacon_service_config config);
  /// Stops the thread and closes the socket.
  ~beacon_service();

  beacon_service(const beacon_service&) = delete;
  beacon_service& operator=(const beacon_service&) = delete;

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace claud::net
