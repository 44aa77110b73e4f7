#pragma once
// The wire form of a discovery beacon: one UDP datagram holding
//   "CLB1" | payload length (2 bytes, big-endian) | payload (a pb::Beacon) | HMAC-SHA256 (32 bytes)
// where the MAC covers everything before it and is keyed with the cluster's secret (--secret-file).
// Pure: no sockets, no clock; decode_beacon takes any bytes from the network and never trusts
// them (its tests feed it garbage, truncations and flipped bits).

#include <cstddef>
#include <cstdint>
#include <string>
#include <variant>

#include "discovery.pb.h"

namespace claud::net {

/// What a beacon's sender and receiver must agree on; a change of the beacon's meaning bumps it.
constexpr uint32_t beacon_protocol_version = 1;
/// The largest frame sent or read: it fits any Ethernet MTU, so a beacon is never fragmented.
constexpr size_t max_beacon_bytes = 1024;
/// Bounds on the cluster secret: at least 128 bits, and no file of unbounded size read whole.
constexpr size_t min_secret_bytes = 16;
constexpr size_t max_secret_bytes = 4096;

/// Why a datagram was not taken as a beacon (beacon_codec and beacon_filter).
enum class beacon_drop {
  malformed,       // not a frame: too short or long, wrong magic or length, payload unparsable
  bad_mac,         // not authenticated by this cluster's secret
  foreign_cluster, // authenticated, but of another --cluster-name
  other_version,   // another beacon_protocol_version
  replayed,        // not newer than what its sender sent before
  skewed,          // its clock is too far from this node's (or a replay older than remembered)
  too_many,        // a new sender while the table of senders is full of recent ones
};
constexpr size_t beacon_drop_kinds = 7;

/// "malformed", "bad MAC", ...: for logs and counters.
const char* to_string(beacon_drop why);

/// The frame of `beacon`, authenticated with `secret`. Throws std::invalid_argument when the
/// beacon does not fit max_beacon_bytes (an address or id far longer than any valid one).
std::string encode_beacon(const pb::Beacon& beacon, const std::string& secret);

/// The beacon a datagram holds, when it is a whole frame authenticated by `secret`; else why not.
/// The MAC is checked, in constant time, before the payload is parsed.
std::variant<pb::Beacon, beacon_drop> decode_beacon(const void* data, size_t size,
                                                    const std::string& secret);

} // namespace claud::net
