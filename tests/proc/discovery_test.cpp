// UDP discovery with real processes on loopback (the loopback network's broadcast address
// reaches every node of this machine): slaves without --join find the masters by their beacons
// and follow a failover; beacons that are garbage, of another secret or cluster, or replayed are
// dropped, said in the log, and the node keeps serving. (discovery_netns_test runs the same across
// network namespaces, each a host with its own address.)

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>

#include <catch2/catch.hpp>

#include "cluster.hpp"
#include "net/beacon_codec.hpp"
#include "net/cluster_secret.hpp"
#include "os/unique_fd.hpp"

using namespace claud;
using namespace claud::test;

namespace {

/// A UDP socket on the discovery port (shared, as the nodes share it), to hear and send beacons.
class beacon_socket {
public:
  explicit beacon_socket(int port) : port_(port), fd_(::socket(AF_INET, SOCK_DGRAM, 0)) {
    REQUIRE(fd_.valid());
    int on = 1;
    ::setsockopt(fd_.get(), SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
    ::setsockopt(fd_.get(), SOL_SOCKET, SO_BROADCAST, &on, sizeof on);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_ANY);
    addr.sin_port = htons(static_cast<uint16_t>(port));
    REQUIRE(::bind(fd_.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  }

  void send(const std::string& datagram) {
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_addr.s_addr = htonl(0x7fffffff); // 127.255.255.255
    to.sin_port = htons(static_cast<uint16_t>(port_));
    REQUIRE(::sendto(fd_.get(), datagram.data(), datagram.size(), 0,
                     reinterpret_cast<sockaddr*>(&to), sizeof to)
            == static_cast<ssize_t>(datagram.size()));
  }

  /// The next datagram whose beacon (under `secret`) is from `node`, within 10 s.
  std::string receive_from(const std::string& node, const std::string& secret) {
    for (int i = 0; i < 1000; ++i) {
      pollfd entry{fd_.get(), POLLIN, 0};
      REQUIRE(::poll(&entry, 1, 10000) == 1);
      std::string datagram(2048, '\0');
      auto size = ::recv(fd_.get(), datagram.data(), datagram.size(), 0);
      REQUIRE(size > 0);
      datagram.resize(static_cast<size_t>(size));
      auto decoded = net::decode_beacon(datagram.data(), datagram.size(), secret);
      if (auto* beacon = std::get_if<pb::Beacon>(&decoded); beacon && beacon->node_id() == node)
        return datagram;
    }
    FAIL("no beacon from " << node);
    return {};
  }

private:
  int port_;
  unique_fd fd_;
};

pb::Beacon beacon_of(const std::string& node, const std::string& address) {
  pb::Beacon b;
  b.set_cluster("test");
  b.set_protocol_version(net::beacon_protocol_version);
  b.set_node_id(node);
  b.set_incarnation(1);
  b.set_role(pb::ROLE_MASTER);
  b.set_address(address);
  b.set_sent_at_ms(std::chrono::duration_cast<std::chrono::milliseconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count());
  return b;
}

} // namespace

TEST_CASE("slaves without --join find the masters by beacon and follow a failover") {
  cluster c;
  c.use_discovery();
  c.start_masters({"m1", "m2", "m3"});
  c.start_slave("s1", "2", "1G", {}, cluster::by_beacon);
  c.start_slave("s2", "2", "1G"); // --join and beacons at once
  CHECK(c.node_stdout("s1").find("joining the masters it hears beacons from") != std::string::npos);
  auto first = c.submit({"true"});
  CHECK(c.wait_job(first)["state"].str() == "succeeded");

  auto leader = c.leader_name();
  c.kill(leader, SIGKILL);
  c.wait_until("s1 is alive under the new leader", [&] {
    auto r = c.run({"nodes", "--json"}, 5s);
    if (r.exit_code != 0)
      return false;
    for (const auto& n : json::parse(r.out).items())
      if (n["id"].str() == "s1")
        return n["state"].str() == "alive";
    return false;
  });
  // Both slaves run jobs for the new leader: two that need 1.5 of a slave's 2 CPUs at once
  // cannot share one.
  auto a = c.submit({"sleep", "1"}, {"--cpus", "1.5"});
  auto b = c.submit({"sleep", "1"}, {"--cpus", "1.5"});
  auto job_a = c.wait_job(a);
  auto job_b = c.wait_job(b);
  CHECK(job_a["state"].str() == "succeeded");
  CHECK(job_b["state"].str() == "succeeded");
  CHECK(job_a["node"].str() != job_b["node"].str());
  CHECK(c.node_stderr("s1").find("msg=\"heard a node\" node=m") != std::string::npos);
}

TEST_CASE("garbage, foreign and replayed beacons are dropped and logged; the node keeps serving") {
  cluster c;
  c.use_discovery();
  c.start_dev("d");
  const auto secret = net::read_cluster_secret(c.secret_file());
  beacon_socket udp{c.discovery_port()};
  c.start_slave("s1", "1", "1G", {}, cluster::by_beacon);
  auto real = udp.receive_from("s1", secret);

  for (int i = 0; i < 2000; ++i) // a flood of garbage, short and long
    udp.send(std::string(static_cast<size_t>(i % 1500), static_cast<char>(i)));
  auto foreign = beacon_of("stranger", "127.0.0.1:2");
  foreign.set_cluster("staging");
  auto future = beacon_of("time-traveller", "127.0.0.1:3");
  future.set_sent_at_ms(future.sent_at_ms() + 3600 * 1000);
  const std::vector<std::pair<std::string, std::string>> expected{
      {"why=malformed", "garbage"},
      {"why=\"bad MAC (another cluster's secret?)\"",
       net::encode_beacon(beacon_of("intruder", "127.0.0.1:1"),
                          "another cluster's secret, long enough")},
      {"why=\"another cluster's name\"", net::encode_beacon(foreign, secret)},
      {"why=\"clock too far off (or a replay)\"", net::encode_beacon(future, secret)},
      {"why=replayed", real}, // s1's own beacon again
  };
  // Sent until the node says so: the flood may have filled its socket's buffer, and UDP drops.
  for (const auto& [why, datagram] : expected)
    c.wait_until("d logs " + why, [&] {
      udp.send(datagram);
      return c.node_stderr("d").find(why) != std::string::npos;
    });
  // None of them became a node, and the cluster still runs jobs on both nodes.
  CHECK(c.nodes().size() == 2);
  CHECK(c.node_stderr("d").find("node=intruder") == std::string::npos);
  auto id = c.submit({"true"}, {"--cpus", "2"});
  CHECK(c.wait_job(id)["state"].str() == "succeeded");
}

TEST_CASE("discovery refuses a loose secret file and malformed settings at start") {
  cluster c;
  auto secret = c.root() + "/loose.secret";
  REQUIRE(c.run_raw({"tls", "secret", "--dir", c.root()}).exit_code == 0);
  REQUIRE(::rename((c.root() + "/cluster.secret").c_str(), secret.c_str()) == 0);
  REQUIRE(::chmod(secret.c_str(), 0644) == 0);
  auto loose = c.run_raw({"--role=dev", "--secret-file", secret, "--data-dir", c.root() + "/d"});
  INFO(loose.describe());
  CHECK(loose.exit_code == 1);
  CHECK(loose.err
        == "claud: error: --secret-file " + secret
               + " may be read by others (mode "
                 "0644); run chmod 600 "
               + secret + "\n");
  REQUIRE(::chmod(secret.c_str(), 0600) == 0);
  auto no_port = c.run_raw({"--role=dev", "--secret-file", secret, "--discovery", "10.0.0.255",
                            "--data-dir", c.root() + "/d"});
  CHECK(no_port.exit_code == 1);
  CHECK(no_port.err.find("10.0.0.255") != std::string::npos);
  auto again = c.run_raw({"tls", "secret", "--dir", c.root()});
  CHECK(again.exit_code == 0); // cluster.secret was moved away: made anew
  auto twice = c.run_raw({"tls", "secret", "--dir", c.root()});
  CHECK(twice.exit_code == 1);
  CHECK(twice.err.find("a secret is never overwritten") != std::string::npos);
  auto slave
      = c.run_raw({"--role=slave", "--listen", "127.0.0.1:1", "--data-dir", c.root() + "/s"});
  CHECK(slave.exit_code == 1);
  CHECK(slave.err.find("or --secret-file to find them by their beacons") != std::string::npos);
}
