// beacon_codec: a frame decodes to the beacon it was made of under the same secret, and to a drop
// reason under any damage: another secret, every truncation, every flipped bit, trailing bytes,
// random garbage. Nothing from the network is trusted before its MAC is checked.
#include "net/beacon_codec.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <catch2/catch.hpp>

#include <random>
#include <string>
#include <variant>

using namespace claud;
using net::beacon_drop;

namespace {

const std::string secret = "0123456789abcdef0123456789abcdef";

pb::Beacon sample() {
  pb::Beacon b;
  b.set_cluster("prod");
  b.set_protocol_version(net::beacon_protocol_version);
  b.set_node_id("m1");
  b.set_incarnation(0x1234567890abcdefULL);
  b.set_role(pb::ROLE_MASTER);
  b.set_address("10.0.0.1:7400");
  b.set_sent_at_ms(1764600000000);
  return b;
}

std::variant<pb::Beacon, beacon_drop> decode(const std::string& frame,
                                             const std::string& key = secret) {
  return net::decode_beacon(frame.data(), frame.size(), key);
}

beacon_drop drop_of(const std::variant<pb::Beacon, beacon_drop>& decoded) {
  REQUIRE(std::holds_alternative<beacon_drop>(decoded));
  return std::get<beacon_drop>(decoded);
}

} // namespace

TEST_CASE("a beacon survives its frame under the same secret") {
  auto frame = net::encode_beacon(sample(), secret);
  CHECK(frame.size() <= net::max_beacon_bytes);
  CHECK(frame.substr(0, 4) == "CLB1");
  auto decoded = decode(frame);
  REQUIRE(std::holds_alternative<pb::Beacon>(decoded));
  CHECK(std::get<pb::Beacon>(decoded).SerializeAsString() == sample().SerializeAsString());
}

TEST_CASE("another secret, damage and garbage are dropped with their reason") {
  auto frame = net::encode_beacon(sample(), secret);
  CHECK(drop_of(decode(frame, "another secret of sixteen+")) == beacon_drop::bad_mac);
  for (size_t cut = 0; cut < frame.size(); ++cut) {
    CAPTURE(cut);
    CHECK(std::holds_alternative<beacon_drop>(decode(frame.substr(0, cut))));
  }
  CHECK(drop_of(decode(frame + "x")) == beacon_drop::malformed);
  for (size_t byte = 0; byte < frame.size(); ++byte)
    for (int bit = 0; bit < 8; ++bit) {
      auto damaged = frame;
      damaged[byte] = static_cast<char>(damaged[byte] ^ (1 << bit));
      CAPTURE(byte, bit);
      CHECK(std::holds_alternative<beacon_drop>(decode(damaged)));
    }
  std::mt19937_64 rng{7};
  for (int i = 0; i < 2000; ++i) {
    std::string garbage(std::uniform_int_distribution<size_t>(0, 1100)(rng), '\0');
    for (auto& c : garbage)
      c = static_cast<char>(rng());
    if (i % 2 == 0 && garbage.size() >= 6)
      garbage.replace(0, 4, "CLB1"); // past the magic, to the length and MAC checks
    CHECK(std::holds_alternative<beacon_drop>(decode(garbage)));
  }
}

TEST_CASE("an authenticated payload that is not a beacon is malformed, not trusted") {
  // A sender with the secret but a broken encoder: the MAC holds, the payload does not parse.
  std::string payload(8, '\xff');
  std::string frame = std::string{"CLB1"} + '\0' + static_cast<char>(payload.size()) + payload;
  unsigned char mac[32];
  unsigned int length = 0;
  REQUIRE(HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
               reinterpret_cast<const unsigned char*>(frame.data()), frame.size(), mac, &length)
          != nullptr);
  frame.append(reinterpret_cast<const char*>(mac), length);
  CHECK(drop_of(decode(frame)) == beacon_drop::malformed);
}

TEST_CASE("a beacon too large for one datagram is refused when made") {
  pb::Beacon huge = sample();
  huge.set_address(std::string(2000, 'a'));
  CHECK_THROWS_AS(net::encode_beacon(huge, secret), std::invalid_argument);
}
