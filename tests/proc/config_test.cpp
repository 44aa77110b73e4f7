// The commented configuration files in config/ are real: a master, a slave and a dev node start
// from them (the harness's flags, given on the command line, win over the files' addresses and
// dirs).

#include <catch2/catch.hpp>

#include "cluster.hpp"

using namespace claud::test;

TEST_CASE("config/master.conf and config/slave.conf start a working cluster") {
  cluster c;
  // The file names two other masters; a cluster of one replaces that with an empty --join.
  c.start_master("m", {"--config", CLAUD_CONFIG_DIR "/master.conf", "--join", ""});
  c.start_slave("s1", "", "", {"--config", CLAUD_CONFIG_DIR "/slave.conf"});
  auto id = c.submit({"true"});
  CHECK(c.wait_job(id)["state"].str() == "succeeded");
}

TEST_CASE("config/dev.conf starts a dev node") {
  cluster c;
  c.start_dev("d", {"--config", CLAUD_CONFIG_DIR "/dev.conf"});
  auto id = c.submit({"echo", "hi"});
  CHECK(c.wait_job(id)["state"].str() == "succeeded");
}
