#include "net/address.hpp"

#include <charconv>

#include <fmt/format.h>

namespace claud::net {

std::string host_port::to_string() const {
  if (host.find(':') != std::string::npos)
    return fmt::format("[{}]:{}", host, port);
  return fmt::format("{}:{}", host, port);
}

host_port parse_host_port(const std::string& text) {
  auto fail = [&](const char* why) {
    return std::invalid_argument(fmt::format(
        "invalid address '{}': {}; expected HOST:PORT, e.g. 127.0.0.1:7400", text, why));
  };
  std::string host;
  std::string port_text;
  if (!text.empty() && text.front() == '[') {
    auto close = text.find(']');
    if (close == std::string::npos || close + 1 >= text.size() || text[close + 1] != ':')
      throw fail("unterminated IPv6 address");
    host = text.substr(1, close - 1);
    port_text = text.substr(close + 2);
  } else {
    auto colon = text.rfind(':');
    if (colon == std::string::npos)
      throw fail("the port is missing");
    host = text.substr(0, colon);
    port_text = text.substr(colon + 1);
    if (host.find(':') != std::string::npos)
      throw fail("an IPv6 host needs brackets");
  }
  if (host.empty())
    throw fail("the host is missing");
  // " b:2" from "a:1, b:2" would otherwise become a host name no resolver accepts, much later.
  if (host.find_first_of(" \t\r\n") != std::string::npos)
    throw fail("the host contains a space");
  unsigned port = 0;
  auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (port_text.empty() || ec != std::errc{} || end != port_text.data() + port_text.size()
      || port == 0 || port > 65535)
    throw fail("the port must be a number from 1 to 65535");
  return {host, static_cast<uint16_t>(port)};
}

std::vector<host_port> parse_host_port_list(const std::string& text) {
  std::vector<host_port> result;
  size_t start = 0;
  while (start <= text.size()) {
    auto comma = text.find(',', start);
    auto item = text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    result.push_back(parse_host_port(item));
    if (comma == std::string::npos)
      break;
    start = comma + 1;
  }
  return result;
}

} // namespace claud::net
