// address: HOST:PORT parsing (IPv6 in brackets), the one-line errors, to_string round trips, and
// comma-separated lists.
#include "net/address.hpp"

#include <catch2/catch.hpp>

#include <string>

using namespace claud::net;
using Catch::Matchers::Contains;

TEST_CASE("HOST:PORT parses names, IPv4 and bracketed IPv6") {
  auto v4 = parse_host_port("127.0.0.1:7400");
  CHECK(v4.host == "127.0.0.1");
  CHECK(v4.port == 7400);
  auto v6 = parse_host_port("[::1]:7400");
  CHECK(v6.host == "::1");
  CHECK(v6.port == 7400);
  auto name = parse_host_port("host:1");
  CHECK(name.host == "host");
  CHECK(name.port == 1);
  CHECK(parse_host_port("master-2.example.org:65535").port == 65535);
  CHECK(parse_host_port("[fe80::1%eth0]:80").host == "fe80::1%eth0");
}

TEST_CASE("to_string gives back what parses to the same address") {
  for (const char* text : {"127.0.0.1:7400", "[::1]:7400", "host:1", "[2001:db8::7]:65535"}) {
    auto parsed = parse_host_port(text);
    CHECK(parsed.to_string() == text);
    CHECK(parse_host_port(parsed.to_string()).host == parsed.host);
  }
}

TEST_CASE("a wrong address is refused in one line saying what is expected") {
  auto error = [](const std::string& text) {
    try {
      parse_host_port(text);
    } catch (const std::invalid_argument& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  CHECK(error("localhost")
        == "invalid address 'localhost': the port is missing; expected HOST:PORT, e.g. "
           "127.0.0.1:7400");
  CHECK(error("abc").find("the port is missing") != std::string::npos);
  CHECK(error("").find("the port is missing") != std::string::npos);
  CHECK(error(":80").find("the host is missing") != std::string::npos);
  CHECK(error("[]:80").find("the host is missing") != std::string::npos);
  CHECK(error("::1:80").find("an IPv6 host needs brackets") != std::string::npos);
  CHECK(error("[::1]").find("unterminated IPv6 address") != std::string::npos);
  CHECK(error("[::1:80").find("unterminated IPv6 address") != std::string::npos);
  CHECK(error(" host:80").find("the host contains a space") != std::string::npos);
  CHECK(error("my host:80").find("the host contains a space") != std::string::npos);
  for (const char* bad_port : {"host:0", "host:65536", "host:", "host:abc", "host:80x", "host:-1",
                               "host:+80", "host: 80", "host:99999999999999999999", "[::1]:0"}) {
    INFO(bad_port);
    CHECK_THROWS_WITH(parse_host_port(bad_port),
                      Contains("invalid address '" + std::string(bad_port) + "'")
                          && Contains("the port must be a number from 1 to 65535"));
  }
}

TEST_CASE("a list is comma-separated addresses, in order") {
  auto list = parse_host_port_list("a:1,[::1]:2,10.0.0.3:3");
  REQUIRE(list.size() == 3);
  CHECK(list[0].host == "a");
  CHECK(list[1].host == "::1");
  CHECK(list[2].to_string() == "10.0.0.3:3");
  CHECK(parse_host_port_list("solo:7400").size() == 1);
}

TEST_CASE("a list with an empty or wrong item is refused") {
  for (const char* bad : {"", ",", "a:1,", ",a:1", "a:1,,b:2", "a:1,b"}) {
    INFO("'" << bad << "'");
    CHECK_THROWS_AS(parse_host_port_list(bad), std::invalid_argument);
  }
  CHECK_THROWS_WITH(parse_host_port_list("a:1,b:0"), Contains("'b:0'"));
  CHECK_THROWS_WITH(parse_host_port_list("a:1, b:2"),
                    Contains("' b:2': the host contains a space"));
}
