// Peers that try to wear a node down, each dropped and logged while the node serves on:
//  - one that announces a huge message in a CAF (BASP) header and then stays silent must not make
//    a node reserve that memory (before the guard, one 32-byte header announcing 0xFFFFFFF0 bytes
//    grew a master by 2-3.6 GiB);
//  - one that holds more connections than --max-connections-per-address;
//  - one that connects to a TLS node and never finishes (or starts) its handshake.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cstring>
#include <fstream>

#include <catch2/catch.hpp>

#include "cluster.hpp"

using namespace claud::test;

namespace {

/// The process's peak resident memory (VmHWM), in KiB.
long peak_rss_kib(pid_t pid) {
  std::ifstream status{"/proc/" + std::to_string(pid) + "/status"};
  std::string line;
  while (std::getline(status, line))
    if (line.rfind("VmHWM:", 0) == 0)
      return std::stol(line.substr(6));
  FAIL("no VmHWM for pid " << pid);
  return 0;
}

/// A TCP connection to `address` (127.0.0.1:PORT) that has sent nothing.
int connect_silently(const std::string& address) {
  auto port = std::stoi(address.substr(address.rfind(':') + 1));
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  REQUIRE(fd >= 0);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(static_cast<uint16_t>(port));
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof to) == 0);
  return fd;
}

/// A connection to `address` that sends one BASP header: a client handshake (operation 1)
/// announcing `payload_bytes`, big-endian as CAF's binary serializer writes it: operation, 2
/// padding bytes, flags, payload length (u32), operation data, source and destination actor ids
/// (u64 each).
int send_oversized_header(const std::string& address, uint32_t payload_bytes) {
  int fd = connect_silently(address);
  std::array<unsigned char, 32> header{};
  header[0] = 1;
  uint32_t length = htonl(payload_bytes);
  std::memcpy(header.data() + 4, &length, sizeof length);
  REQUIRE(::send(fd, header.data(), header.size(), MSG_NOSIGNAL) == 32);
  return fd;
}

/// Whether the peer closes the connection within `timeout` (reads and discards what it sends,
/// such as its own handshake, until then).
bool closed_by_peer(int fd, milliseconds timeout) {
  auto until = std::chrono::steady_clock::now() + timeout;
  char buffer[4096];
  for (;;) {
    auto left = std::chrono::duration_cast<milliseconds>(until - std::chrono::steady_clock::now());
    if (left.count() <= 0)
      return false;
    pollfd entry{fd, POLLIN, 0};
    if (::poll(&entry, 1, static_cast<int>(left.count())) <= 0)
      return false;
    auto got = ::recv(fd, buffer, sizeof buffer, 0);
    if (got <= 0)
      return true;
  }
}

void check_node_drops_oversized_headers(cluster& c, const std::string& name) {
  auto pid = c.node(name).pid;
  auto before = peak_rss_kib(pid);
  std::vector<int> fds;
  fds.push_back(send_oversized_header(c.address(name), 0xFFFFFFF0u));
  for (int i = 0; i < 4; ++i)
    fds.push_back(send_oversized_header(c.address(name), 512u << 20));
  for (int fd : fds) {
    CHECK(closed_by_peer(fd, 5s));
    ::close(fd);
  }
  auto grown_kib = peak_rss_kib(pid) - before;
  CHECK(grown_kib < 64 * 1024);
  CHECK(c.node_stderr(name).find("oversized message") != std::string::npos);
}

} // namespace

TEST_CASE("a master and a slave drop peers that announce oversized messages, and serve on") {
  cluster c;
  c.start_master("m");
  c.start_slave("s1", "1", "1G");
  check_node_drops_oversized_headers(c, "m");
  check_node_drops_oversized_headers(c, "s1");
  auto id = c.submit({"true"});
  CHECK(c.wait_job(id)["state"].str() == "succeeded");
  CHECK(c.node_record("s1")["state"].str() == "alive");
}

TEST_CASE("an address holding its most connections has one more closed at once") {
  cluster c;
  c.start_dev("d", {"--max-connections-per-address", "4"});
  std::vector<int> held;
  for (int i = 0; i < 3; ++i)
    held.push_back(connect_silently(c.address("d")));
  CHECK(c.run({"leader"}).exit_code == 0); // the fourth connection: the client's own
  held.push_back(connect_silently(c.address("d")));
  int over = connect_silently(c.address("d"));
  CHECK(closed_by_peer(over, 5s));
  ::close(over);
  CHECK(c.node_stderr("d").find("msg=\"refused connections\" peer=127.0.0.1") != std::string::npos);
  for (int i = 0; i < 2; ++i) { // some of them stay open: they still hold their places
    ::close(held.back());
    held.pop_back();
  }
  auto id = c.submit({"true"});
  CHECK(c.wait_job(id)["state"].str() == "succeeded");
  for (int fd : held) {
    CHECK_FALSE(closed_by_peer(fd, 200ms));
    ::close(fd);
  }
}

TEST_CASE("a TLS node closes a connection whose handshake does not finish in time") {
  cluster c;
  c.use_tls();
  c.start_dev("d", {"--tls-handshake-timeout-ms", "300"});
  int silent = connect_silently(c.address("d"));
  // A few bytes that are no TLS record's whole header: the handshake waits for the rest.
  const char partial[] = {0x16, 0x03};
  REQUIRE(::send(silent, partial, sizeof partial, MSG_NOSIGNAL) == 2);
  int mute = connect_silently(c.address("d"));
  CHECK(closed_by_peer(silent, 5s));
  CHECK(closed_by_peer(mute, 5s));
  ::close(silent);
  ::close(mute);
  CHECK(c.node_stderr("d").find("did not finish within 300 ms") != std::string::npos);
  auto id = c.submit({"true"});
  CHECK(c.wait_job(id)["state"].str() == "succeeded");
}

TEST_CASE("--max-message-size is bounded") {
  cluster c;
  auto r = c.run_raw({"--role=dev", "--max-message-size", "1K", "--data-dir", c.root() + "/d"});
  CHECK(r.exit_code == 1);
  CHECK(r.err.find("--max-message-size must be 1M to 4G") != std::string::npos);
  auto none = c.run_raw(
      {"--role=dev", "--max-connections-per-address", "0", "--data-dir", c.root() + "/d"});
  CHECK(none.err.find("--max-connections-per-address must be 1 to 65536") != std::string::npos);
  auto instant
      = c.run_raw({"--role=dev", "--tls-handshake-timeout-ms", "5", "--data-dir", c.root() + "/d"});
  CHECK(instant.err.find("--tls-handshake-timeout-ms must be 100 to 600000") != std::string::npos);
}
