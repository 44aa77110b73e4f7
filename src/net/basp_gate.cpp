#include "net/basp_gate.hpp"

#include <cstring>

#include <caf/atom.hpp>
#include <caf/binary_deserializer.hpp>
#include <caf/message_id.hpp>

#include "log/log.hpp"

namespace claud::net {

using caf::io::basp::message_type;

basp_gate::basp_gate(peer_identities& identities) : identities_(identities) {}

basp_gate::~basp_gate() {
  if (!node_)
    return;
  identities_.unbind(*node_);
  if (peer_ && peer_->role == peer_role::master)
    identities_.forget_relayed(*node_);
}

void basp_gate::set_peer(peer_identity identity) {
  peer_ = std::move(identity);
}

std::string basp_gate::check(char* data, size_t size) {
  if (!peer_)
    return "sent data before its certificate was verified";
  if (payload_next_) {
    payload_next_ = false;
    return check_payload(data, size);
  }
  caf::binary_deserializer source{nullptr, data, size};
  if (size != caf::io::basp::header_size || source(header_))
    return "sent a malformed message header";
  payload_next_ = header_.payload_len > 0;
  bool unpublished = false;
  auto refused = check_header(unpublished);
  if (unpublished) {
    log::debug("net", "a message to an actor that is not published goes nowhere",
               {{"from", peer_->name}, {"actor", std::to_string(header_.dest_actor)}});
    // The header's last field, the receiver, becomes the largest id, which no actor has: CAF
    // drops the message (or answers a request with an error) with the framing intact. (Id 0
    // would make the header invalid, and CAF close the connection.)
    std::memset(data + size - sizeof(caf::actor_id), 0xff, sizeof(caf::actor_id));
  }
  return refused;
}

/// The rules that the header alone decides, for a peer that is not a master. A message to an
/// actor that is not published is not refused but sent nowhere (`unpublished`): CAF's own
/// helpers receive such messages from every peer (the spawn server's reply to the broker).
std::string basp_gate::check_header(bool& unpublished) {
  if (peer_->role == peer_role::master)
    return {};
  switch (header_.operation) {
  case message_type::server_handshake:
  case message_type::client_handshake:
  case message_type::heartbeat:
    return {};
  case message_type::routed_message:
    return "routed a message, which only masters may";
  case message_type::direct_message: {
    if (!node_)
      return "sent a message before its handshake";
    // CAF asks every new peer's spawn server for its info; the spawn server can spawn only
    // the actor types a program registers for it, and claud registers none. Any other named
    // actor (the config server among them) is not for peers.
    if (header_.has(caf::io::basp::header::named_receiver_flag))
      return header_.dest_actor == static_cast<caf::actor_id>(caf::atom("SpawnServ"))
                 ? std::string{}
                 : "addressed an actor by name";
    if (caf::make_message_id(header_.operation_data).is_response())
      return {};
    if (header_.source_actor == 0)
      return "sent a request without a sender";
    unpublished = !identities_.is_door(header_.dest_actor);
    return {};
  }
  case message_type::monitor_message:
  case message_type::down_message:
    return node_ ? std::string{} : "sent a message before its handshake";
  }
  return "sent a message of an unknown type";
}

std::string basp_gate::check_payload(const char* data, size_t size) {
  caf::binary_deserializer source{nullptr, data, size};
  caf::node_id first; // every payload that names nodes begins with the source node
  switch (header_.operation) {
  case message_type::server_handshake:
  case message_type::client_handshake: {
    if (source(first) || !first)
      return "sent a malformed handshake";
    if (node_)
      return *node_ == first ? std::string{} : "changed its node id";
    if (!identities_.bind(first, *peer_))
      return "claimed the node id of a peer with another certificate";
    node_ = first;
    return {};
  }
  case message_type::routed_message:
    // From a master (check_header refused everyone else): the source is a node it relays for.
    if (source(first))
      return "sent a malformed routed message";
    if (first && node_ && first != *node_)
      identities_.relay(first, *node_);
    return {};
  case message_type::monitor_message:
  case message_type::down_message:
    if (peer_->role == peer_role::master)
      return {};
    if (source(first))
      return "sent a malformed monitor message";
    return first == *node_ ? std::string{} : "spoke for another node";
  default:
    return {};
  }
}

} // namespace claud::net
