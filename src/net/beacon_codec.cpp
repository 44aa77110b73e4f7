#include "net/beacon_codec.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <cstring>
#include <stdexcept>

#include <fmt/format.h>

namespace claud::net {

namespace {

constexpr char magic[4] = {'C', 'L', 'B', '1'};
constexpr size_t header_bytes = sizeof(magic) + 2;
constexpr size_t mac_bytes = 32; // SHA-256

/// HMAC-SHA256 of `size` bytes at `data` under `secret`.
void mac_of(const std::string& secret, const unsigned char* data, size_t size,
            unsigned char (&out)[mac_bytes]) {
  unsigned int length = 0;
  if (HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()), data, size, out, &length)
          == nullptr
      || length != mac_bytes)
    throw std::runtime_error("HMAC-SHA256 failed"); // only when OpenSSL itself is broken
}

} // namespace

const char* to_string(beacon_drop why) {
  switch (why) {
  case beacon_drop::malformed:
    return "malformed";
  case beacon_drop::bad_mac:
    return "bad MAC (another cluster's secret?)";
  case beacon_drop::foreign_cluster:
    return "another cluster's name";
  case beacon_drop::other_version:
    return "another protocol version";
  case beacon_drop::replayed:
    return "replayed";
  case beacon_drop::skewed:
    return "clock too far off (or a replay)";
  case beacon_drop::too_many:
    return "too many senders";
  }
  return "unknown";
}

std::string encode_beacon(const pb::Beacon& beacon, const std::string& secret) {
  const auto payload = beacon.SerializeAsString();
  const size_t size = header_bytes + payload.size() + mac_bytes;
  if (size > max_beacon_bytes)
    throw std::invalid_argument(
        fmt::format("a beacon of {} bytes does not fit in {}", size, max_beacon_bytes));
  std::string frame;
  frame.reserve(size);
  frame.append(magic, sizeof(magic));
  frame.push_back(static_cast<char>(payload.size() >> 8));
  frame.push_back(static_cast<char>(payload.size() & 0xff));
  frame += payload;
  unsigned char mac[mac_bytes];
  mac_of(secret, reinterpret_cast<const unsigned char*>(frame.data()), frame.size(), mac);
  frame.append(reinterpret_cast<const char*>(mac), mac_bytes);
  return frame;
}

std::variant<pb::Beacon, beacon_drop> decode_beacon(const void* data, size_t size,
                                                    const std::string& secret) {
  const auto* bytes = static_cast<const unsigned char*>(data);
  if (size < header_bytes + mac_bytes || size > max_beacon_bytes
      || std::memcmp(bytes, magic, sizeof(magic)) != 0)
    return beacon_drop::malformed;
  const size_t payload_size = (size_t{bytes[4]} << 8) | bytes[5];
  if (header_bytes + payload_size + mac_bytes != size)
    return beacon_drop::malformed;
  unsigned char mac[mac_bytes];
  mac_of(secret, bytes, header_bytes + payload_size, mac);
  if (CRYPTO_memcmp(mac, bytes + header_bytes + payload_size, mac_bytes) != 0)
    return beacon_drop::bad_mac;
  pb::Beacon beacon;
  if (!beacon.ParseFromArray(bytes + header_bytes, static_cast<int>(payload_size)))
    return beacon_drop::malformed;
  return beacon;
}

} // namespace claud::net
