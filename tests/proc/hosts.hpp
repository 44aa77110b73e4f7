#pragma once
// "Hosts" for tests of a cluster across machines: network namespaces joined by a Linux bridge,
// each with an address of its own on one /24 (10.R.0.K, K = 1..count), so nodes listen on real,
// non-loopback addresses and broadcasts (10.R.0.255) cross between them as on a LAN. The bridge
// holds 10.R.0.254, so the test process (in the root namespace) reaches every host. The
// destructor deletes the namespaces (and with them their veth links) and the bridge. Needs root
// (CAP_NET_ADMIN) and `ip` (iproute2); unavailable_reason() says why not otherwise.

#include <string>
#include <vector>

namespace claud::test {

class network_hosts {
public:
  /// Why hosts cannot be made on this machine ("" when they can), checked once by trying.
  static std::string unavailable_reason();

  /// Makes `count` hosts (1 to 250); throws std::runtime_error with the failing command.
  explicit network_hosts(int count);
  ~network_hosts();
  network_hosts(const network_hosts&) = delete;
  network_hosts& operator=(const network_hosts&) = delete;

  /// The address of host `k` (1-based), and its subnet's broadcast address.
  std::string address(int k) const;
  std::string broadcast() const;
  /// The command prefix that runs a program on host `k`: ip netns exec NAME.
  std::vector<std::string> exec_prefix(int k) const;
  int count() const {
    return count_;
  }
  /// Cuts hosts `a` and `b` off from each other (an unreachable route to the other on each), or
  /// heals the cut; the test process still reaches both, as a client on another link would.
  void cut(int a, int b);
  void heal(int a, int b);

private:
  void ip(const std::vector<std::string>& args) const;
  /// Deletes what was made so far.
  void remove();

  int count_ = 0;
  int subnet_ = 0;     // R in 10.R.0.0/24
  std::string tag_;    // unique per instance, in every name it makes
  std::string bridge_; // clb<tag>
  std::vector<std::string> namespaces_;
};

} // namespace claud::test
