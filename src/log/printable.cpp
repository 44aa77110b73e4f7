#include "log/printable.hpp"

#include <fmt/format.h>

namespace claud::log {

namespace {

/// The length of the valid UTF-8 sequence that starts at `i` (RFC 3629: no overlong forms, no
/// surrogates, nothing above U+10FFFF), or 0 when the byte there starts none.
size_t sequence_length(const std::string& s, size_t i) {
  auto byte = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  auto continuation = [&](size_t k, unsigned char low = 0x80, unsigned char high = 0xbf) {
    return k < s.size() && byte(k) >= low && byte(k) <= high;
  };
  unsigned char c = byte(i);
  if (c < 0x80)
    return 1;
  if (c >= 0xc2 && c <= 0xdf)
    return continuation(i + 1) ? 2 : 0;
  if (c >= 0xe0 && c <= 0xef) {
    unsigned char low = c == 0xe0 ? 0xa0 : 0x80;
    unsigned char high = c == 0xed ? 0x9f : 0xbf;
    return continuation(i + 1, low, high) && continuation(i + 2) ? 3 : 0;
  }
  if (c >= 0xf0 && c <= 0xf4) {
    unsigned char low = c == 0xf0 ? 0x90 : 0x80;
    unsigned char high = c == 0xf4 ? 0x8f : 0xbf;
    return continuation(i + 1, low, high) && continuation(i + 2) && continuation(i + 3) ? 4 : 0;
  }
  return 0;
}

} // namespace

std::string printable(const std::string& bytes) {
  std::string out;
  out.reserve(bytes.size());
  for (size_t i = 0; i < bytes.size();) {
    if (auto n = sequence_length(bytes, i); n != 0) {
      out.append(bytes, i, n);
      i += n;
    } else {
      out += fmt::format("\\x{:02x}", static_cast<unsigned char>(bytes[i++]));
    }
  }
  return out;
}

} // namespace claud::log
