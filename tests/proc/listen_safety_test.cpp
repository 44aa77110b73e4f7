// Safe by default: without TLS a node refuses to listen anywhere but on loopback, in one line
// that names the way out; given --insecure it says so on start. Nothing here listens off
// loopback: the refused nodes never bind, and the --insecure one names 192.0.2.1 (TEST-NET-1, no
// interface of this machine has it), so it warns and then fails to bind.

#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "cluster.hpp"

using namespace claud::test;

TEST_CASE("a node refuses a non-loopback --listen without --insecure, in one line") {
  cluster c;
  const auto port = std::to_string(cluster::free_port());
  for (std::string role : {"dev", "master", "slave"}) {
    for (std::string host : {"0.0.0.0", "[::]", "192.0.2.1"}) {
      const auto listen = host + ":" + port;
      std::vector<std::string> args{"--role=" + role, "--listen", listen, "--data-dir",
                                    c.root() + "/" + role};
      if (role != "dev") // a dev node is a cluster of its own
        args.insert(args.end(), {"--join", "127.0.0.1:1"});
      auto r = c.run_raw(args);
      INFO(r.describe());
      CHECK(r.exit_code == 1);
      CHECK(r.err
            == "claud: error: refusing to listen on " + listen
                   + " without TLS: anyone who reaches it could run commands on the slaves; "
                     "give --tls-ca, --tls-cert and --tls-key (see `claud tls`), listen on "
                     "127.0.0.1, or add --insecure on a network where every host is trusted\n");
      CHECK(r.out.empty()); // it never started
    }
  }
}

TEST_CASE("with --insecure a non-loopback --listen is allowed and the node says it is insecure") {
  cluster c;
  const auto listen = "192.0.2.1:" + std::to_string(cluster::free_port());
  auto r = c.run_raw(
      {"--role=dev", "--insecure", "--listen", listen, "--data-dir", c.root() + "/dev"});
  INFO(r.describe());
  CHECK(r.err.find("level=warn module=node msg=\"insecure: listening without TLS")
        != std::string::npos);
  CHECK(r.err.find("listen=" + listen) != std::string::npos);
  // It got past the check: what stops it is the address, which is not this machine's.
  CHECK(r.err.find("cannot listen on " + listen) != std::string::npos);
  CHECK(r.exit_code == 1);
}

TEST_CASE("loopback listens need no --insecure and print no warning") {
  cluster c;
  c.start_dev("d");
  CHECK(c.node_stderr("d").find("insecure") == std::string::npos);
}
