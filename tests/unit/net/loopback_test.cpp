// loopback: which --listen hosts are this machine's alone (literals, and names through
// getaddrinfo: "localhost" from /etc/hosts, a .invalid name that never resolves).
#include "net/loopback.hpp"

#include <catch2/catch.hpp>

TEST_CASE("loopback hosts are the 127/8 and ::1 literals and names that resolve only to them") {
  using claud::net::is_loopback_host;
  CHECK(is_loopback_host("127.0.0.1"));
  CHECK(is_loopback_host("127.1.2.3"));
  CHECK(is_loopback_host("::1"));
  CHECK(is_loopback_host("localhost"));     // /etc/hosts
  CHECK_FALSE(is_loopback_host("0.0.0.0")); // every interface
  CHECK_FALSE(is_loopback_host("::"));
  CHECK_FALSE(is_loopback_host("10.1.2.3"));
  CHECK_FALSE(is_loopback_host("128.0.0.1"));
  CHECK_FALSE(is_loopback_host("::ffff:10.0.0.1"));
  CHECK_FALSE(is_loopback_host(""));
  CHECK_FALSE(is_loopback_host("no-such-host.invalid")); // RFC 6761: never resolves
}
