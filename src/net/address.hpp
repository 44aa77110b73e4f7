#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace claud::net {

struct host_port {
  std::string host;
  uint16_t port = 0;

  std::string to_string() const;
};

/// Parses "HOST:PORT" (an IPv6 host in brackets: "[::1]:7400"). Throws std::invalid_argument with
/// one line naming the text and what is expected.
host_port parse_host_port(const std::string& text);

/// Parses a comma-separated list of HOST:PORT; empty items are an error.
std::vector<host_port> parse_host_port_list(const std::string& text);

} // namespace claud::net
