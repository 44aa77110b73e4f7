#pragma once
// basp_gate: what a peer on one authenticated connection may send, checked on the bytes CAF's
// BASP broker reads, before the broker sees them. CAF lets any connected peer message any actor
// of this process by id, claim another node's id, and route messages "from" other nodes; with
// certificates, claud allows that only to masters. A peer of any other role may:
//   - say who it is once (its BASP handshake), under a node id no other certificate holds;
//   - send messages only to a door (an actor this node publishes; a message to any other actor
//     goes nowhere), and answers to anyone (CAF drops an answer that no request awaits);
//   - monitor actors, and report its own actors' deaths, but not another node's;
//   - never route a message, address an actor by name (but CAF's spawn server, which CAF asks
//     about every new peer), or send a request without a sender.
// Everything a master sends passes; from a master's routed message the gate learns which client
// nodes it relays for (peer_identities::relay).
//
// The broker reads a header, then exactly its payload: the gate follows that alternation.

#include <cstddef>
#include <optional>
#include <string>

#include <caf/io/basp/header.hpp>
#include <caf/node_id.hpp>

#include "net/peer_identities.hpp"

namespace claud::net {

class basp_gate {
public:
  explicit basp_gate(peer_identities& identities);
  ~basp_gate();
  basp_gate(const basp_gate&) = delete;
  basp_gate& operator=(const basp_gate&) = delete;

  /// The peer's identity, once its certificate is verified (the TLS handshake comes first).
  void set_peer(peer_identity identity);

  /// Checks one chunk the broker asked for; empty when it may pass, else why the connection is
  /// to be dropped.
  /// A message to an actor that may not receive it from this peer is rewritten, in `data`, to go
  /// nowhere.
  std::string check(char* data, size_t size);

private:
  std::string check_header(bool& unpublished);
  std::string check_payload(const char* data, size_t size);

  peer_identities& identities_;
  std::optional<peer_identity> peer_;
  std::optional<caf::node_id> node_; // from the peer's BASP handshake
  caf::io::basp::header header_;
  bool payload_next_ = false;
};

} // namespace claud::net
