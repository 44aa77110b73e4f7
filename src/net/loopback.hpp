#pragma once
// Whether a node's --listen host is reachable from this machine only: what decides if it may
// listen without TLS (see roles/node.cpp).

#include <string>

namespace claud::net {

/// Whether every address `host` stands for is a loopback one (127.0.0.0/8 or ::1): an IPv4 or
/// IPv6 literal, or a name that resolves (getaddrinfo, so /etc/hosts and DNS) to loopback
/// addresses only. A wildcard (0.0.0.0, ::) is not, nor is a name that does not resolve.
bool is_loopback_host(const std::string& host);

} // namespace claud::net
