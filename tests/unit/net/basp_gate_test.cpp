// basp_gate: the BASP bytes a peer that is not a master may send, fed to the gate as CAF's broker
// reads them (a header, then its payload), built with CAF's own serializer.
#include "net/basp_gate.hpp"

#include <string>
#include <vector>

#include <caf/atom.hpp>
#include <caf/binary_serializer.hpp>
#include <caf/message_id.hpp>
#include <catch2/catch.hpp>

using namespace claud::net;
using caf::io::basp::header;
using caf::io::basp::message_type;

namespace {

caf::node_id node(uint32_t pid) {
  return *caf::make_node_id(pid, "0123456789abcdef0123456789abcdef01234567");
}

template<class... Ts>
std::vector<char> bytes(const Ts&... xs) {
  std::vector<char> buf;
  caf::binary_serializer sink{nullptr, buf};
  REQUIRE_FALSE(sink(const_cast<Ts&>(xs)...));
  return buf;
}

/// Feeds one message, header then payload, and returns the first refusal (or "").
std::string feed(basp_gate& gate, header hdr, std::vector<char> payload,
                 std::vector<char>* header_seen = nullptr) {
  hdr.payload_len = static_cast<uint32_t>(payload.size());
  auto head = bytes(hdr);
  auto refused = gate.check(head.data(), head.size());
  if (header_seen)
    *header_seen = head;
  if (payload.empty())
    return refused;
  // A refused peer's connection is dropped; the test goes on with the same gate, which must
  // still see the payload to stay in step.
  auto payload_refused = gate.check(payload.data(), payload.size());
  return refused.empty() ? payload_refused : refused;
}

header make_header(message_type op, uint64_t data, caf::actor_id from, caf::actor_id to,
                   uint8_t flags = 0) {
  return header{op, flags, 0, data, from, to};
}

const uint64_t request = caf::make_message_id(caf::message_priority::normal).integer_value() + 7;
const uint64_t response = caf::make_message_id(7).response_id().integer_value();

/// The receiver field of a header, as the broker will read it.
caf::actor_id receiver_of(const std::vector<char>& head) {
  caf::actor_id id = 0;
  for (size_t i = head.size() - sizeof id; i < head.size(); ++i)
    id = (id << 8) | static_cast<unsigned char>(head[i]);
  return id;
}

/// A gate whose peer (`role`, "p") has said it is `peer_node`.
void shake(basp_gate& gate, const caf::node_id& peer_node) {
  REQUIRE(feed(gate, make_header(message_type::client_handshake, 0, 0, 0), bytes(peer_node)) == "");
}

} // namespace

TEST_CASE("nothing passes before the peer's certificate is known") {
  peer_identities ids;
  basp_gate gate{ids};
  auto head = bytes(make_header(message_type::heartbeat, 0, 0, 0));
  CHECK(gate.check(head.data(), head.size()) == "sent data before its certificate was verified");
}

TEST_CASE("a handshake binds the peer's node id to its certificate while it is connected") {
  peer_identities ids;
  {
    basp_gate gate{ids};
    gate.set_peer({peer_role::client, "alice"});
    shake(gate, node(1));
    auto who = ids.find(node(1));
    REQUIRE(who);
    CHECK(who->role == peer_role::client);
    CHECK(who->name == "alice");
    CHECK_FALSE(who->relayed);

    basp_gate impostor{ids};
    impostor.set_peer({peer_role::reader, "rita"});
    CHECK(feed(impostor, make_header(message_type::client_handshake, 0, 0, 0), bytes(node(1)))
          == "claimed the node id of a peer with another certificate");

    CHECK(feed(gate, make_header(message_type::client_handshake, 0, 0, 0), bytes(node(2)))
          == "changed its node id");
  }
  CHECK_FALSE(ids.find(node(1))); // its connection closed
}

TEST_CASE("a client's requests reach only published actors; answers reach any") {
  peer_identities ids;
  ids.add_door(10);
  basp_gate gate{ids};
  gate.set_peer({peer_role::client, "alice"});
  std::vector<char> message{'x'};

  std::vector<char> head;
  CHECK(feed(gate, make_header(message_type::direct_message, request, 6, 10), message, &head)
        == "sent a message before its handshake");
  shake(gate, node(1));
  CHECK(feed(gate, make_header(message_type::direct_message, request, 6, 10), message, &head)
        == "");
  CHECK(receiver_of(head) == 10);
  CHECK(feed(gate, make_header(message_type::direct_message, request, 6, 3), message, &head) == "");
  CHECK(receiver_of(head) == caf::actor_id(-1)); // no actor has it: CAF drops the message
  CHECK(feed(gate, make_header(message_type::direct_message, response, 6, 3), message, &head)
        == "");
  CHECK(receiver_of(head) == 3);
  CHECK(feed(gate, make_header(message_type::direct_message, request, 0, 10), message)
        == "sent a request without a sender");
}

TEST_CASE("a client may not route, name CAF's config server, or speak for another node") {
  peer_identities ids;
  basp_gate gate{ids};
  gate.set_peer({peer_role::reader, "rita"});
  shake(gate, node(1));
  std::vector<char> message{'x'};
  auto named = header::named_receiver_flag;
  CHECK(feed(gate,
             make_header(message_type::direct_message, 0, 7,
                         static_cast<caf::actor_id>(caf::atom("SpawnServ")), named),
             message)
        == "");
  CHECK(feed(gate,
             make_header(message_type::direct_message, 0, 7,
                         static_cast<caf::actor_id>(caf::atom("ConfigServ")), named),
             message)
        == "addressed an actor by name");
  CHECK(feed(gate, make_header(message_type::down_message, 0, 4, 0), bytes(node(1), node(9)))
        == "");
  CHECK(feed(gate, make_header(message_type::down_message, 0, 4, 0), bytes(node(3), node(9)))
        == "spoke for another node");
  CHECK(
      feed(gate, make_header(message_type::routed_message, request, 6, 10), bytes(node(3), node(9)))
      == "routed a message, which only masters may");
}

TEST_CASE("a master may send anything, and the nodes it routes for are known as relayed") {
  peer_identities ids;
  {
    basp_gate gate{ids};
    gate.set_peer({peer_role::master, "m2"});
    shake(gate, node(2));
    std::vector<char> head;
    CHECK(feed(gate, make_header(message_type::direct_message, request, 6, 3), {'x'}, &head) == "");
    CHECK(receiver_of(head) == 3);
    CHECK(feed(gate, make_header(message_type::routed_message, request, 6, 10),
               bytes(node(5), node(9)))
          == "");
    auto who = ids.find(node(5));
    REQUIRE(who);
    CHECK(who->relayed);

    // A relayed node that connects itself is known by its own certificate from then on.
    basp_gate own{ids};
    own.set_peer({peer_role::reader, "rita"});
    shake(own, node(5));
    CHECK_FALSE(ids.find(node(5))->relayed);
    CHECK(ids.find(node(5))->role == peer_role::reader);
  }
  CHECK_FALSE(ids.find(node(5)));
  CHECK_FALSE(ids.find(node(2)));
}
