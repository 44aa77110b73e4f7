// A cluster across "machines": six network namespaces joined by a bridge that the test makes
// and removes (hosts.hpp), each node on a host of its own with a real, non-loopback address.
// Three masters (each naming the others with --join, as the first voters must be agreed) and two
// slaves that know no master: they find them by broadcast beacons. Everything runs over mutual
// TLS; a client without a certificate, a reader's submit and a slave's submit are refused; a
// fourth master is added and the first removed while jobs run; the leader is SIGKILLed and every
// acknowledged job still ends. Skipped, saying why, where namespaces cannot be made (not root,
// no iproute2).

#include <fstream>
#include <set>
#include <sstream>
#include <string>

#include <catch2/catch.hpp>

#include "cluster.hpp"

using namespace claud::test;

using Catch::Matchers::Contains;

TEST_CASE("three masters and two slaves on six hosts find each other and run jobs over TLS") {
  cluster c;
  if (auto why = c.use_hosts(6); !why.empty()) {
    WARN("skipped: " << why);
    return;
  }
  c.use_tls();
  c.use_discovery();
  c.start_masters({"m1", "m2", "m3"});
  c.start_slave("s1", "2", "1G", {}, cluster::by_beacon);
  c.start_slave("s2", "2", "1G", {}, cluster::by_beacon);
  for (const auto* name : {"m1", "s1"})
    CHECK(c.address(name).rfind("10.", 0) == 0);
  CHECK_THAT(c.node_stderr("s1"), Contains("msg=\"heard a node\" node=m"));

  // Jobs of 1 CPU that run until the test says go: the first four fill both slaves' 2 CPUs.
  const auto go = c.root() + "/go";
  std::vector<std::string> acknowledged;
  for (int i = 0; i < 8; ++i)
    acknowledged.push_back(c.submit(
        {"sh", "-c", "echo $(hostname -I); while [ ! -e " + go + " ]; do sleep 0.05; done"},
        {"--cpus", "1"}));
  c.wait_until("four jobs run", [&] {
    int running = 0;
    for (const auto& job : c.jobs().items())
      running += job["state"].str() == "running";
    return running == 4;
  });
  std::ofstream{go}.put('\n');
  std::set<std::string> nodes_used;
  for (const auto& id : acknowledged) {
    auto job = c.wait_job(id);
    CHECK(job["state"].str() == "succeeded");
    nodes_used.insert(job["node"].str());
  }
  CHECK(nodes_used == std::set<std::string>{"s1", "s2"});
  // The job ran on its slave's host: it printed that host's address.
  auto slave_address = c.address(c.job(acknowledged.front())["node"].str());
  CHECK(c.run({"logs", acknowledged.front()}).out
        == slave_address.substr(0, slave_address.find(':')) + "\n");

  c.issue_certificate("rita", "reader");
  CHECK_THAT(c.run(c.as("rita", {"submit", "--", "true"})).err, Contains("may only read"));
  CHECK_THAT(c.run(c.as("s1", {"submit", "--", "true"})).err,
             Contains("may only register and report"));
  ::unsetenv("CLAUD_TLS_CERT");
  ::unsetenv("CLAUD_TLS_KEY");
  auto plain = c.run({"jobs"});
  CHECK(plain.exit_code == 1);
  ::setenv("CLAUD_TLS_CERT", (c.tls_dir() + "/operator.pem").c_str(), 1);
  ::setenv("CLAUD_TLS_KEY", (c.tls_dir() + "/operator-key.pem").c_str(), 1);

  // A fourth master, on the sixth host, joins while jobs run, and the first leaves.
  for (int i = 0; i < 4; ++i)
    acknowledged.push_back(c.submit({"sleep", "1"}));
  c.start_master("m4", {"--joining", "--join", c.cluster_address()});
  const auto m4 = c.address("m4");
  // Heard by its beacon before it is added, it is named to the operator as no member yet.
  c.wait_until("m2 logs m4 as a master that is not a member", [&] {
    std::istringstream log{c.node_stderr("m2")};
    for (std::string line; std::getline(log, line);)
      if (line.find("heard a master that is not a member") != std::string::npos
          && line.find(m4) != std::string::npos)
        return true;
    return false;
  });
  c.run_json({"masters", "add", m4, "--json"});
  acknowledged.push_back(c.submit({"sleep", "1"}));
  c.wait_until("m4 has caught up and votes", [&] {
    return master_role(c.run_json({"leader", "--json"}), m4) == "follower";
  });
  auto without_m1 = c.run_json({"masters", "remove", "m1", "--json"});
  const auto m1_role = master_role(without_m1, c.address("m1"));
  CHECK((m1_role.empty() || m1_role == "not a member"));
  acknowledged.push_back(c.submit({"sleep", "1"}));
  CHECK(c.stop("m1", 10s));

  // The leader dies while jobs run: the slaves, which never knew a master's address from a
  // flag, follow the new leader (elected by m2, m3 and m4), and every acknowledged job ends.
  for (int i = 0; i < 4; ++i)
    acknowledged.push_back(c.submit({"sleep", "1"}));
  c.kill(c.leader_name(), SIGKILL);
  acknowledged.push_back(c.submit({"true"}));
  for (const auto& id : acknowledged)
    CHECK(c.wait_job(id, 40s)["state"].str() == "succeeded");
}
