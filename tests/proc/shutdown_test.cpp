// Every node exits within a few seconds of SIGTERM, always, and says so: masters stopped 100 ms
// apart (the recipe that left CAF's actor system waiting for a detached actor's thread for ever
// in about one stop in ten), a slave, and a dev node.

#include <signal.h>

#include <thread>

#include <catch2/catch.hpp>

#include "cluster.hpp"

using namespace claud::test;

namespace {

constexpr auto exit_bound = 5s;

void require_stops(cluster& c, const std::string& name) {
  INFO("node " << name << "; stderr: " << c.node_stderr(name));
  REQUIRE(c.stop(name, exit_bound));
  CHECK(c.node(name).exit_status == 0);
  CHECK(c.node_stdout(name).find("stopped") != std::string::npos);
}

} // namespace

TEST_CASE("masters stopped 100 ms apart all exit within a few seconds") {
  constexpr int rounds = 8;
  for (int round = 0; round < rounds; ++round) {
    cluster c;
    c.start_masters({"m1", "m2", "m3"});
    for (const auto& name : c.master_names()) {
      ::kill(c.node(name).pid, SIGTERM);
      std::this_thread::sleep_for(100ms); // the recipe: stops 100 ms apart
    }
    for (const auto& name : c.master_names()) {
      INFO("round " << round);
      require_stops(c, name);
    }
  }
}

TEST_CASE("a slave and a dev node exit within a few seconds of SIGTERM") {
  cluster c;
  c.start_master("m");
  c.start_slave("s1", "1", "1G");
  c.submit({"sleep", "30"});
  require_stops(c, "s1");
  require_stops(c, "m");
  cluster d;
  d.start_dev("dev");
  d.submit({"sleep", "30"});
  require_stops(d, "dev");
}
