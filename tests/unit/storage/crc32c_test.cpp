// crc32c: the published test vectors (RFC 3720 appendix B.4, the "123456789" check value), and
// the fast slicing-by-8 path against a bit-at-a-time reference on every length and alignment.
#include "storage/crc32c.hpp"

#include <catch2/catch.hpp>

#include <cstdint>
#include <random>
#include <string>
#include <vector>

using claud::storage::crc32c;

namespace {

uint32_t reference_crc32c(const unsigned char* p, size_t n) {
  uint32_t crc = 0xFFFFFFFFu;
  for (size_t i = 0; i < n; ++i) {
    crc ^= p[i];
    for (int bit = 0; bit < 8; ++bit)
      crc = (crc & 1u) ? (crc >> 1) ^ 0x82F63B78u : crc >> 1;
  }
  return ~crc;
}

} // namespace

TEST_CASE("crc32c matches the published check values") {
  std::string digits = "123456789";
  CHECK(crc32c(digits.data(), digits.size()) == 0xE3069283u);
  CHECK(crc32c("", 0) == 0u);
  std::vector<unsigned char> bytes(32, 0x00);
  CHECK(crc32c(bytes.data(), bytes.size()) == 0x8A9136AAu);
  std::fill(bytes.begin(), bytes.end(), 0xFF);
  CHECK(crc32c(bytes.data(), bytes.size()) == 0x62A8AB43u);
  for (size_t i = 0; i < bytes.size(); ++i)
    bytes[i] = static_cast<unsigned char>(i);
  CHECK(crc32c(bytes.data(), bytes.size()) == 0x46DD794Eu);
  for (size_t i = 0; i < bytes.size(); ++i)
    bytes[i] = static_cast<unsigned char>(31 - i);
  CHECK(crc32c(bytes.data(), bytes.size()) == 0x113FDB5Cu);
}

TEST_CASE("crc32c agrees with a bitwise reference on every length and alignment") {
  std::mt19937 random(42);
  std::vector<unsigned char> data(300);
  for (auto& b : data)
    b = static_cast<unsigned char>(random());
  for (size_t start = 0; start < 8; ++start)
    for (size_t n = 0; start + n <= data.size(); ++n)
      REQUIRE(crc32c(data.data() + start, n) == reference_crc32c(data.data() + start, n));
}

TEST_CASE("crc32c continues over split input") {
  std::string text = "the quick brown fox jumps over the lazy dog";
  uint32_t whole = crc32c(text.data(), text.size());
  for (size_t cut = 0; cut <= text.size(); ++cut) {
    uint32_t first = crc32c(text.data(), cut);
    REQUIRE(crc32c(text.data() + cut, text.size() - cut, first) == whole);
  }
}
