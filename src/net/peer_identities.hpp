#pragma once
// peer_identities: who is at the other end of each authenticated connection, for the doors that
// decide what a peer may ask. Filled by the TLS connections of guarded_multiplexer (on the
// middleman's thread), read by the api actor (on any worker): hence the lock.
//
// A connection's identity comes from the certificate its peer proved it holds during the TLS
// handshake; the CAF node id it is known by comes from the BASP handshake on that connection, and
// basp_gate refuses a second connection that claims a node id already held under another
// certificate, so a node id stands for one certificate while any of its connections is open.
// Requests that a master forwards for a client reach the leader as routed messages from the
// client's node: that node is then known as `relayed`, trusted for what a master forwards.

#include <cstddef>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>

#include <caf/actor_system.hpp>
#include <caf/fwd.hpp>
#include <caf/node_id.hpp>

#include "net/certificates.hpp"

namespace claud::net {

/// What a remote node proved (or a master vouched for).
struct peer_identity {
  peer_role role;
  std::string name;     // the certificate's CN
  bool relayed = false; // known only through a master that forwarded its requests
};

class peer_identities {
public:
  /// Binds `node` to `identity` for one more connection; false when the node id is held under
  /// another certificate (the connection must then be refused).
  bool bind(const caf::node_id& node, const peer_identity& identity);
  /// One connection that `bind` accepted has closed.
  void unbind(const caf::node_id& node);
  /// A master forwarded requests from `node`: known as relayed until the master's connection
  /// closes (`forget_relayed`), unless it has a connection of its own.
  void relay(const caf::node_id& node, const caf::node_id& master);
  void forget_relayed(const caf::node_id& master);

  /// Who `node` is, if it connected (or was relayed) and is still there.
  std::optional<peer_identity> find(const caf::node_id& node) const;

  /// The actors non-master peers may send requests to: what a node publishes.
  void add_door(caf::actor_id id);
  bool is_door(caf::actor_id id) const;

private:
  /// Relayed nodes are forgotten all at once past this many: each forwarded request relays its
  /// node again, so this bounds memory without refusing anyone.
  static constexpr size_t max_relayed = 65536;
  struct entry {
    peer_identity identity;
    size_t connections = 0;
    caf::node_id relayed_by;
  };
  template<class Predicate>
  void forget_relayed_if(Predicate predicate); // under the lock
  mutable std::mutex mutex_;
  std::unordered_map<caf::node_id, entry> nodes_;
  size_t relayed_ = 0;
  std::set<caf::actor_id> doors_;
};

/// The identities of `system`'s peers, or nullptr when its connections are not authenticated
/// (no TLS configured: every peer is trusted, as on loopback).
peer_identities* identities_of(caf::actor_system& system);

} // namespace claud::net
