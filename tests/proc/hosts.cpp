#include "hosts.hpp"

#include <unistd.h>

#include <random>
#include <stdexcept>

#include "process.hpp"

namespace claud::test {

namespace {

const char* ip_binary() {
  for (const char* path : {"/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"})
    if (::access(path, X_OK) == 0)
      return path;
  return nullptr;
}

} // namespace

std::string network_hosts::unavailable_reason() {
  static const std::string reason = [] {
    if (::geteuid() != 0)
      return std::string{"not root: network namespaces need CAP_NET_ADMIN"};
    if (ip_binary() == nullptr)
      return std::string{"no `ip` command (Debian package iproute2)"};
    try {
      network_hosts probe{1};
    } catch (const std::runtime_error& e) {
      return std::string{"cannot make network namespaces here: "} + e.what();
    }
    return std::string{};
  }();
  return reason;
}

network_hosts::network_hosts(int count) : count_(count) {
  if (count < 1 || count > 250)
    fail("network_hosts: 1 to 250 hosts");
  // Names are short (interface names have 15 characters) and unique per test process and
  // instance; the subnet is drawn so that tests running side by side rarely share one, and one
  // already on this machine is skipped.
  static int instances = 0;
  std::random_device random;
  tag_ = std::to_string(::getpid() % 100000) + "x" + std::to_string(++instances);
  auto addresses = run_process({ip_binary(), "-o", "addr"}, 10s).out;
  do
    subnet_ = 100 + static_cast<int>(random() % 150);
  while (addresses.find(" 10." + std::to_string(subnet_) + ".0.") != std::string::npos);
  bridge_ = "clb" + tag_;
  try {
    ip({"link", "add", bridge_, "type", "bridge"});
    ip({"addr", "add", "10." + std::to_string(subnet_) + ".0.254/24", "dev", bridge_});
    ip({"link", "set", bridge_, "up"});
    for (int k = 1; k <= count; ++k) {
      auto ns = "claud-" + tag_ + "-" + std::to_string(k);
      auto veth = "clv" + tag_ + "h" + std::to_string(k);
      ip({"netns", "add", ns});
      namespaces_.push_back(ns);
      ip({"link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", ns});
      ip({"link", "set", veth, "master", bridge_, "up"});
      ip({"-n", ns, "addr", "add", address(k) + "/24", "dev", "eth0"});
      ip({"-n", ns, "link", "set", "eth0", "up"});
      ip({"-n", ns, "link", "set", "lo", "up"});
    }
  } catch (...) {
    remove();
    throw;
  }
}

network_hosts::~network_hosts() {
  remove();
}

void network_hosts::remove() {
  for (const auto& ns : namespaces_)
    run_process({ip_binary(), "netns", "del", ns}, 10s);
  namespaces_.clear();
  if (!bridge_.empty())
    run_process({ip_binary(), "link", "del", bridge_}, 10s);
  bridge_.clear();
}

void network_hosts::ip(const std::vector<std::string>& args) const {
  std::vector<std::string> argv{ip_binary()};
  argv.insert(argv.end(), args.begin(), args.end());
  auto r = run_process(argv, 10s);
  if (r.exit_code != 0) {
    std::string command;
    for (const auto& a : argv)
      command += " " + a;
    fail("`" + command.substr(1) + "` failed: " + r.describe());
  }
}

std::string network_hosts::address(int k) const {
  return "10." + std::to_string(subnet_) + ".0." + std::to_string(k);
}

std::string network_hosts::broadcast() const {
  return "10." + std::to_string(subnet_) + ".0.255";
}

void network_hosts::cut(int a, int b) {
  ip({"-n", namespaces_.at(static_cast<size_t>(a - 1)), "route", "add", "unreachable",
      address(b) + "/32"});
  ip({"-n", namespaces_.at(static_cast<size_t>(b - 1)), "route", "add", "unreachable",
      address(a) + "/32"});
}

void network_hosts::heal(int a, int b) {
  ip({"-n", namespaces_.at(static_cast<size_t>(a - 1)), "route", "del", "unreachable",
      address(b) + "/32"});
  ip({"-n", namespaces_.at(static_cast<size_t>(b - 1)), "route", "del", "unreachable",
      address(a) + "/32"});
}

std::vector<std::string> network_hosts::exec_prefix(int k) const {
  return {ip_binary(), "netns", "exec", namespaces_.at(static_cast<size_t>(k - 1))};
}

} // namespace claud::test
