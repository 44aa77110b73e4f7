// Mutual TLS between real processes: three masters and two slaves, each with a certificate of the
// cluster CA, run jobs and survive a leader's death; what a peer may ask follows from its
// certificate's role; a client without a certificate, or with one of another CA, is refused during
// the handshake (and the master logs who); a node refuses bad TLS files at start in one line.

#include <sys/stat.h>

#include <string>

#include <catch2/catch.hpp>

#include "cluster.hpp"

using namespace claud::test;

namespace {

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

} // namespace

TEST_CASE("a cluster over mutual TLS runs jobs through a failover, and each certificate may do "
          "what its role allows") {
  cluster c;
  c.use_tls();
  c.start_masters({"m1", "m2", "m3"});
  c.start_slave("s1", "2", "1G");
  c.start_slave("s2", "2", "1G");

  auto first = c.submit({"echo", "over tls"});
  REQUIRE(c.wait_job(first)["state"].str() == "succeeded");

  c.issue_certificate("rita", "reader");
  auto read = c.run(c.as("rita", {"logs", first}));
  INFO(read.describe());
  CHECK(read.exit_code == 0);
  CHECK(read.out == "over tls\n");
  auto reader_submit = c.run(c.as("rita", {"submit", "--", "true"}));
  INFO(reader_submit.describe());
  CHECK(reader_submit.exit_code == 1);
  CHECK(contains(reader_submit.err, "the reader certificate \"rita\" may only read"));
  auto reader_kill = c.run(c.as("rita", {"kill", first}));
  CHECK(contains(reader_kill.err, "may only read"));

  // A slave's key on a client: it may register and report, never submit.
  auto slave_submit = c.run(c.as("s1", {"submit", "--", "true"}));
  INFO(slave_submit.describe());
  CHECK(slave_submit.exit_code == 1);
  CHECK(contains(slave_submit.err, "the slave certificate \"s1\" may only register and report"));
  auto slave_read = c.run(c.as("s1", {"jobs"}));
  CHECK(slave_read.exit_code == 1);

  // Through a follower too: it forwards only what the certificate allows, and the leader
  // trusts what a master forwards.
  auto leader = c.leader_name();
  std::string follower = leader == "m1" ? "m2" : "m1";
  auto forwarded = c.run(c.as("rita", {"submit", "--cluster", c.address(follower), "--", "true"}));
  CHECK(contains(forwarded.err, "may only read"));
  auto forwarded_read = c.run({"jobs", "--cluster", c.address(follower)});
  CHECK(forwarded_read.exit_code == 0);
  auto via_follower
      = c.run_json({"submit", "--json", "--cluster", c.address(follower), "--wait", "--", "true"});
  CHECK(via_follower["state"].str() == "succeeded");

  // The leader dies; the survivors elect another over TLS, and jobs run on.
  c.kill(leader, SIGKILL);
  auto after = c.submit({"echo", "after failover"});
  REQUIRE(c.wait_job(after, 30s)["state"].str() == "succeeded");
  CHECK(c.run({"logs", after}).out == "after failover\n");
}

TEST_CASE("a peer without a certificate of the cluster CA is refused during the handshake") {
  cluster c;
  c.use_tls();
  c.start_dev("d");

  ::unsetenv("CLAUD_TLS_CERT");
  ::unsetenv("CLAUD_TLS_KEY");
  ::unsetenv("CLAUD_TLS_CA");
  auto plain = c.run({"jobs"});
  INFO(plain.describe());
  CHECK(plain.exit_code == 1);
  CHECK(contains(plain.err, "closed the connection before it was set up: it may use TLS"));

  // A certificate of another CA: the master refuses it during the handshake.
  auto other = c.root() + "/other";
  REQUIRE(::mkdir(other.c_str(), 0700) == 0);
  REQUIRE(c.run_raw({"tls", "ca", "--dir", other}).exit_code == 0);
  REQUIRE(c.run_raw({"tls", "cert", "--dir", other, "--role", "client", "--name", "eve"}).exit_code
          == 0);
  auto foreign = c.run({"jobs", "--tls-ca", c.tls_dir() + "/ca.pem", "--tls-cert",
                        other + "/eve.pem", "--tls-key", other + "/eve-key.pem"});
  INFO(foreign.describe());
  CHECK(foreign.exit_code == 1);
  c.wait_until("the master logs both refusals, with the peer's address", [&] {
    auto log = c.node_stderr("d");
    return contains(log, "msg=\"refused a connection\" peer=127.0.0.1:")
           && contains(log, "why=\"TLS handshake failed")
           && contains(log, "why=\"its certificate is not trusted: unable to get local issuer");
  });

  // The node serves on.
  auto good
      = c.run({"jobs", "--tls-ca", c.tls_dir() + "/ca.pem", "--tls-cert",
               c.tls_dir() + "/operator.pem", "--tls-key", c.tls_dir() + "/operator-key.pem"});
  CHECK(good.exit_code == 0);
}

TEST_CASE("a node refuses TLS files that cannot serve it, in one line") {
  cluster c;
  c.use_tls();
  c.issue_certificate("m", "master");
  c.issue_certificate("s", "slave");
  auto start
      = [&](const std::string& role, const std::string& name, std::vector<std::string> more = {}) {
          std::vector<std::string> args{"--role=" + role,
                                        "--listen",
                                        "127.0.0.1:" + std::to_string(cluster::free_port()),
                                        "--data-dir",
                                        c.root() + "/data-" + name,
                                        "--tls-ca",
                                        c.tls_dir() + "/ca.pem",
                                        "--tls-cert",
                                        c.tls_dir() + "/" + name + ".pem",
                                        "--tls-key",
                                        c.tls_dir() + "/" + name + "-key.pem"};
          args.insert(args.end(), more.begin(), more.end());
          return c.run_raw(args, 10s);
        };
  auto slave_as_master = start("master", "s");
  INFO(slave_as_master.describe());
  CHECK(slave_as_master.exit_code == 1);
  CHECK(slave_as_master.err
        == "claud: error: --tls-cert " + c.tls_dir()
               + "/s.pem is a slave certificate (\"s\"); a master needs a master one: claud tls "
                 "cert --role master --name NAME\n");

  auto master_key_on_slave = start("slave", "m", {"--join", "127.0.0.1:1"});
  CHECK(
      contains(master_key_on_slave.err, "is a master certificate (\"m\"); a slave needs a slave"));

  REQUIRE(::chmod((c.tls_dir() + "/m-key.pem").c_str(), 0640) == 0);
  auto loose = start("master", "m");
  CHECK(loose.err
        == "claud: error: the private key " + c.tls_dir()
               + "/m-key.pem may be read by others (mode 0640); run chmod 600 " + c.tls_dir()
               + "/m-key.pem\n");
  REQUIRE(::chmod((c.tls_dir() + "/m-key.pem").c_str(), 0600) == 0);

  auto insecure_too = start("master", "m", {"--insecure"});
  CHECK(contains(insecure_too.err, "--insecure is for nodes without TLS"));

  auto half = c.run_raw({"--role=master", "--data-dir", c.root() + "/data-half", "--tls-cert",
                         c.tls_dir() + "/m.pem"},
                        10s);
  CHECK(contains(half.err, "TLS needs all three of --tls-ca, --tls-cert and --tls-key"));
}
