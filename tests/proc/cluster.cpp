#include "cluster.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pwd.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>

#include <google/protobuf/util/json_util.h>

#define CATCH_CONFIG_EXTERNAL_INTERFACES
#include <catch2/catch.hpp>

#ifndef CLAUD_BINARY
#error "CLAUD_BINARY must name the claud executable (see tests/proc/CMakeLists.txt)"
#endif

namespace claud::test {

namespace {

using clock_type = std::chrono::steady_clock;

// Counts failed assertions of the whole test run, so a cluster can tell whether the test that
// owned it failed (a CHECK failure throws nothing).
std::atomic<long> failed_assertions{0};

struct failure_listener : Catch::TestEventListenerBase {
  using TestEventListenerBase::TestEventListenerBase;
  bool assertionEnded(const Catch::AssertionStats& stats) override {
    if (!stats.assertionResult.isOk())
      ++failed_assertions;
    return true;
  }
};

CATCH_REGISTER_LISTENER(failure_listener)

bool contains(const std::vector<std::string>& args, const std::string& what) {
  return std::find(args.begin(), args.end(), what) != args.end();
}

} // namespace

std::string cluster::current_user() {
  std::vector<char> buffer(16384);
  passwd entry{};
  passwd* found = nullptr;
  if (::getpwuid_r(::geteuid(), &entry, buffer.data(), buffer.size(), &found) != 0
      || found == nullptr)
    fail("this test runs as uid " + std::to_string(::geteuid()) + ", which has no user name");
  return entry.pw_name;
}

bool is_terminal_state(const std::string& state) {
  return state == "succeeded" || state == "failed" || state == "killed" || state == "lost";
}

std::string master_role(const json& leader_info, const std::string& address) {
  for (const auto& m : leader_info["masters"].items())
    if (m["address"].str() == address)
      return m["role"].str();
  return {};
}

// ---------------------------------------------------------------------------------------------
// cluster

cluster::cluster() : failures_at_start_(failed_assertions.load()) {
  // Orphans of processes we start (jobs of a SIGKILLed slave) become our children, so the
  // destructor can end them too.
  ::prctl(PR_SET_CHILD_SUBREAPER, 1);
  ::unsetenv("CLAUD_ADDR");
  for (const char* tls : {"CLAUD_TLS_CA", "CLAUD_TLS_CERT", "CLAUD_TLS_KEY"})
    ::unsetenv(tls); // a test that wants TLS sets them
  const char* tmpdir = std::getenv("TMPDIR");
  std::string tmpl
      = std::string{tmpdir != nullptr && *tmpdir != '\0' ? tmpdir : "/tmp"} + "/claud-proc-XXXXXX";
  if (::mkdtemp(tmpl.data()) == nullptr)
    fail("mkdtemp in " + tmpl + " failed: " + errno_text());
  root_ = tmpl;
}

cluster::~cluster() {
  // A stop signal first, so that slaves remove their jobs' cgroups as they stop; whatever has not
  // stopped within a bounded time is killed.
  for (auto& [name, p] : nodes_)
    if (p.pid != 0) {
      ::kill(p.pid, SIGCONT);
      ::kill(p.pid, SIGTERM);
    }
  clis_.clear(); // SIGKILLs each: a client has nothing to stop cleanly
  const auto deadline = clock_type::now() + 3s;
  for (auto& [name, p] : nodes_) {
    while (!reap_if_exited(p) && clock_type::now() < deadline)
      std::this_thread::sleep_for(5ms);
    end_process(p);
  }
  reap_strays();
  bool failed = std::uncaught_exceptions() > 0 || failed_assertions.load() > failures_at_start_;
  const char* keep = std::getenv("CLAUD_TEST_KEEP");
  if (failed || (keep != nullptr && *keep != '\0' && std::string(keep) != "0")) {
    std::cerr << "claud test harness: " << (failed ? "the test failed; " : "")
              << "processes' data dirs and output are kept in " << root_ << "\n";
    return;
  }
  std::error_code ignored;
  std::filesystem::remove_all(root_, ignored);
}

std::string cluster::binary() {
  // Another build can be tested or benchmarked with the same harness (an A/B of two binaries).
  const char* other = std::getenv("CLAUD_TEST_BINARY");
  return other != nullptr && *other != '\0' ? other : CLAUD_BINARY;
}

namespace {

/// The port the system picks for a socket of `type` bound to `address` port 0, once closed again.
int system_chosen_port(int type, uint32_t address, const std::string& what) {
  int fd = ::socket(AF_INET, type | SOCK_CLOEXEC, 0);
  if (fd < 0)
    fail("socket failed: " + errno_text());
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(address);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    fail("bind to " + what + " failed: " + errno_text());
  }
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

} // namespace

int cluster::free_udp_port() {
  return system_chosen_port(SOCK_DGRAM, INADDR_ANY, "UDP 0.0.0.0:0");
}

int cluster::free_port() {
  return system_chosen_port(SOCK_STREAM, INADDR_LOOPBACK, "127.0.0.1:0");
}

node_process& cluster::node(const std::string& name) {
  auto i = nodes_.find(name);
  if (i == nodes_.end())
    fail("the test harness started no node named " + name);
  return i->second;
}

std::string cluster::cluster_address() const {
  std::string addresses;
  for (const auto& name : start_order_) {
    const auto& p = nodes_.at(name);
    if (p.role != "slave")
      addresses += (addresses.empty() ? "" : ",") + p.address;
  }
  if (addresses.empty())
    fail("the cluster has no master or dev node yet");
  return addresses;
}

std::vector<std::string> cluster::master_names() const {
  std::vector<std::string> names;
  for (const auto& name : start_order_)
    if (nodes_.at(name).role == "master")
      names.push_back(name);
  return names;
}

std::string cluster::file_of(const node_process& p, const char* stream) const {
  return p.dir + "/" + stream + "-" + std::to_string(p.incarnation) + ".log";
}

std::string cluster::node_stdout(const std::string& name) const {
  return read_file(file_of(nodes_.at(name), "stdout"));
}

std::string cluster::node_stderr(const std::string& name) const {
  return read_file(file_of(nodes_.at(name), "stderr"));
}

void cluster::use_tls() {
  if (::mkdir(tls_dir().c_str(), 0700) != 0)
    fail("cannot create " + tls_dir() + ": " + errno_text());
  auto made = run_raw({"tls", "ca", "--dir", tls_dir(), "--cluster-name", "test"});
  if (made.exit_code != 0)
    fail("claud tls ca failed: " + made.describe());
  issue_certificate("operator", "client");
  ::setenv("CLAUD_TLS_CA", (tls_dir() + "/ca.pem").c_str(), 1);
  ::setenv("CLAUD_TLS_CERT", (tls_dir() + "/operator.pem").c_str(), 1);
  ::setenv("CLAUD_TLS_KEY", (tls_dir() + "/operator-key.pem").c_str(), 1);
  tls_ = true;
}

std::string cluster::use_hosts(int count) {
  if (auto why = network_hosts::unavailable_reason(); !why.empty())
    return why;
  hosts_ = std::make_unique<network_hosts>(count);
  return {};
}

void cluster::use_discovery() {
  auto made = run_raw({"tls", "secret", "--dir", root_});
  if (made.exit_code != 0)
    fail("claud tls secret failed: " + made.describe());
  discovery_port_ = free_udp_port();
}

std::vector<std::string> cluster::as(const std::string& holder,
                                     std::vector<std::string> args) const {
  args.insert(args.begin() + 1, {"--tls-cert", tls_dir() + "/" + holder + ".pem", "--tls-key",
                                 tls_dir() + "/" + holder + "-key.pem"});
  return args;
}

void cluster::issue_certificate(const std::string& name, const std::string& role,
                                const std::string& ip) const {
  auto issued
      = run_raw({"tls", "cert", "--dir", tls_dir(), "--role", role, "--name", name, "--ip", ip});
  if (issued.exit_code != 0)
    fail("claud tls cert failed: " + issued.describe());
}

node_process& cluster::add_node(const std::string& name, const std::string& role,
                                std::vector<std::string> args, const std::string& master) {
  if (nodes_.count(name))
    fail("a node named " + name + " was started already; use restart()");
  int host = 0;
  if (hosts_) {
    if (hosts_used_ == hosts_->count())
      fail("every one of the " + std::to_string(hosts_->count()) + " hosts runs a node already");
    host = ++hosts_used_;
  }
  if (tls_) {
    issue_certificate(name, role == "slave" ? "slave" : "master",
                      host != 0 ? hosts_->address(host) : "127.0.0.1");
    args.insert(args.end(),
                {"--tls-ca", tls_dir() + "/ca.pem", "--tls-cert", tls_dir() + "/" + name + ".pem",
                 "--tls-key", tls_dir() + "/" + name + "-key.pem"});
  }
  if (discovery_port_ != 0)
    args.insert(args.end(),
                {"--secret-file", secret_file(), "--cluster-name", "test", "--discovery",
                 (hosts_ ? hosts_->broadcast() : std::string{"127.255.255.255"}) + ":"
                     + std::to_string(discovery_port_),
                 "--beacon-interval-ms", "200"});
  node_process p;
  p.name = name;
  p.role = role;
  p.host = host;
  if (host != 0)
    p.address = hosts_->address(host) + ":7400"; // a host of its own: any port is free there
  p.master = master;
  p.dir = root_ + "/" + name;
  p.data_dir = p.dir + "/data";
  if (::mkdir(p.dir.c_str(), 0755) != 0)
    fail("cannot create " + p.dir + ": " + errno_text());
  p.args = std::move(args);
  start_order_.push_back(name);
  return nodes_[name] = std::move(p);
}

void cluster::spawn(node_process& p) {
  ++p.incarnation;
  std::vector<std::string> argv;
  if (p.host != 0)
    argv = hosts_->exec_prefix(p.host);
  argv.insert(argv.end(), {binary(), "--role=" + p.role, "--listen", p.address, "--data-dir",
                           p.data_dir, "--node-id", p.name});
  // Tests have their jobs write marker files into the test's own dirs, which only the user
  // running the tests may write: jobs run as that user (a slave started as root would run them
  // as nobody), unless the test chooses.
  if (p.role != "master" && !contains(p.args, "--run-as"))
    argv.insert(argv.end(), {"--run-as", current_user()});
  argv.insert(argv.end(), p.args.begin(), p.args.end());
  int out_fd = ::open(file_of(p, "stdout").c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  int err_fd = ::open(file_of(p, "stderr").c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (out_fd < 0 || err_fd < 0)
    fail("cannot create output files in " + p.dir + ": " + errno_text());
  p.pid = spawn_child(argv, out_fd, err_fd);
  ::close(out_fd);
  ::close(err_fd);
  p.exit_status = -1;
}

bool cluster::reap_if_exited(node_process& p) {
  if (p.pid == 0)
    return true;
  int status = 0;
  auto r = ::waitpid(p.pid, &status, WNOHANG);
  if (r == 0)
    return false;
  p.exit_status = r == p.pid ? exit_code_of(status) : -1;
  p.pid = 0;
  return true;
}

void cluster::end_process(node_process& p) {
  if (p.pid == 0)
    return;
  kill_group(p.pid, SIGKILL);
  int status = 0;
  if (::waitpid(p.pid, &status, 0) == p.pid)
    p.exit_status = exit_code_of(status);
  p.pid = 0;
}

void cluster::wait_ready(node_process& p) {
  auto deadline = clock_type::now() + 20s;
  const std::string ask = p.role == "slave" ? cluster_address() : p.address;
  std::string last;
  for (;;) {
    if (reap_if_exited(p))
      fail("node " + p.name + " exited with status " + std::to_string(p.exit_status)
           + " before it was ready; stderr: " + tail(node_stderr(p.name)));
    // Our own process must have bound the port (it prints this line after publishing), so a
    // stranger on a reused port cannot pass for it.
    if (node_stdout(p.name).find("listening on") != std::string::npos) {
      // A master joining a running cluster has no leader to ask until it is added: it is ready
      // once it answers for itself.
      const bool joining = std::find(p.args.begin(), p.args.end(), "--joining") != p.args.end();
      auto r = joining ? run({"leader", "--local", "--json", "--cluster", ask}, 10s)
                       : run({"nodes", "--json", "--cluster", ask}, 10s);
      last = r.describe();
      if (r.exit_code == 0) {
        if (p.role == "master")
          return;
        auto list = json::parse(r.out);
        for (const auto& n : list.items())
          if (n["id"].str() == p.name && n["state"].str() == "alive")
            return;
      }
    }
    if (clock_type::now() > deadline)
      fail("node " + p.name + " was not ready within 20 s; last `claud nodes`: " + last
           + "; its stderr: " + tail(node_stderr(p.name)));
    std::this_thread::sleep_for(50ms);
  }
}

void cluster::launch_and_wait(node_process& p) {
  // A port that was free when chosen may be taken before claud binds it (another test): pick a
  // new one and try again. A restart keeps its port.
  bool first_start = p.incarnation == 0 && p.address.empty();
  for (int attempt = 0;; ++attempt) {
    if (first_start) {
      int port = 0;
      do
        port = free_port();
      while (std::find(used_ports_.begin(), used_ports_.end(), port) != used_ports_.end());
      used_ports_.push_back(port);
      p.address = "127.0.0.1:" + std::to_string(port);
    }
    spawn(p);
    try {
      wait_ready(p);
      return;
    } catch (const std::runtime_error&) {
      end_process(p);
      bool port_taken = node_stderr(p.name).find("cannot listen") != std::string::npos;
      if (!first_start || !port_taken || attempt >= 4)
        throw;
    }
  }
}

node_process& cluster::start_master(const std::string& name, std::vector<std::string> extra) {
  std::vector<std::string> args{"--registration-grace-ms", "1500", "--log", "info"};
  args.insert(args.end(), extra.begin(), extra.end());
  auto& p = add_node(name, "master", std::move(args), {});
  launch_and_wait(p);
  return p;
}

void cluster::start_masters(const std::vector<std::string>& names, std::vector<std::string> extra) {
  std::vector<node_process*> masters;
  for (const auto& name : names) {
    std::vector<std::string> args{"--registration-grace-ms", "1500", "--log", "info"};
    auto& p = add_node(name, "master", std::move(args), {});
    if (p.address.empty()) { // not on a host of its own
      int port = 0;
      do
        port = free_port();
      while (std::find(used_ports_.begin(), used_ports_.end(), port) != used_ports_.end());
      used_ports_.push_back(port);
      p.address = "127.0.0.1:" + std::to_string(port);
    }
    masters.push_back(&p);
  }
  // Every master gets the same --join list, itself included, as an operator writes one config
  // file for all of them.
  std::string every;
  for (auto* q : masters)
    every += (every.empty() ? "" : ",") + q->address;
  for (auto* p : masters) {
    if (masters.size() > 1)
      p->args.insert(p->args.end(), {"--join", every});
    p->args.insert(p->args.end(), extra.begin(), extra.end());
    spawn(*p);
  }
  // Each waits for a leader, which needs a majority of them running: all are started above.
  for (auto* p : masters)
    wait_ready(*p);
}

node_process& cluster::start_dev(const std::string& name, std::vector<std::string> extra) {
  std::vector<std::string> args{
      "--registration-grace-ms", "1500", "--kill-grace-ms", "1000", "--log", "info"};
  args.insert(args.end(), extra.begin(), extra.end());
  auto& p = add_node(name, "dev", std::move(args), {});
  launch_and_wait(p);
  return p;
}

node_process& cluster::start_slave(const std::string& name, const std::string& cpus,
                                   const std::string& memory, std::vector<std::string> extra,
                                   const std::string& master) {
  std::vector<std::string> args{
      "--reconnect-interval-ms", "100", "--kill-grace-ms", "1000", "--log", "info"};
  if (master == by_beacon) {
    if (discovery_port_ == 0)
      fail("slave " + name + " can find masters by beacon only after use_discovery()");
  } else {
    std::string joined = master.empty() ? "" : node(master).address;
    if (joined.empty())
      for (const auto& n : master_names())
        joined += (joined.empty() ? "" : ",") + node(n).address;
    if (joined.empty())
      fail("start a master before slave " + name);
    args.insert(args.end(), {"--join", joined});
  }
  if (!cpus.empty())
    args.insert(args.end(), {"--cpus", cpus});
  if (!memory.empty())
    args.insert(args.end(), {"--memory", memory});
  args.insert(args.end(), extra.begin(), extra.end());
  auto& p = add_node(name, "slave", std::move(args), master == by_beacon ? "" : master);
  launch_and_wait(p);
  return p;
}

node_process& cluster::restart(const std::string& name) {
  auto& p = node(name);
  end_process(p);
  launch_and_wait(p);
  return p;
}

void cluster::kill(const std::string& name, int signal) {
  auto& p = node(name);
  if (p.pid == 0)
    fail("node " + name + " is not running");
  if (signal == SIGKILL) {
    end_process(p);
    return;
  }
  if (::kill(-p.pid, signal) != 0)
    fail("cannot signal node " + name + ": " + errno_text());
}

bool cluster::stop(const std::string& name, milliseconds timeout) {
  auto& p = node(name);
  if (p.pid == 0)
    fail("node " + name + " is not running");
  if (::kill(p.pid, SIGTERM) != 0)
    fail("cannot signal node " + name + ": " + errno_text());
  const auto deadline = clock_type::now() + timeout;
  while (!reap_if_exited(p)) {
    if (clock_type::now() >= deadline)
      return false;
    std::this_thread::sleep_for(5ms); // polled: waitpid has no timeout
  }
  return true;
}

std::vector<std::string> cluster::command_line(std::vector<std::string> args) const {
  if (!args.empty() && !contains(args, "--cluster") && args[0].rfind("--", 0) != 0)
    args.insert(args.begin() + 1, {"--cluster", cluster_address()});
  args.insert(args.begin(), binary());
  return args;
}

running_process& cluster::start_cli(std::vector<std::string> args) {
  args = command_line(std::move(args));
  const auto dir = root_ + "/cli-" + std::to_string(clis_.size() + 1);
  if (::mkdir(dir.c_str(), 0755) != 0)
    fail("cannot create " + dir + ": " + errno_text());
  clis_.push_back(
      std::make_unique<running_process>(args, dir + "/stdout.log", dir + "/stderr.log"));
  return *clis_.back();
}

} // namespace claud::test
