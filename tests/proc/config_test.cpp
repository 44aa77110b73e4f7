// The commented configuration files in config/ are real: a master, a slave and a dev node start
// from them (the harness's flags, given on the command line, win over the files' addresses and
// dirs).

#include <algorithm>
#include <fstream>

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

TEST_CASE("a config file with an error refuses to start, naming the file and the line") {
  cluster c;
  const std::vector<std::pair<std::string, std::string>> cases{
      {"role = \"dev\nlog = \"warn\"\n", "line 1: unterminated quote"},
      {"role = \"dev\"\nthis is not an option\n", "line 2: expected key = value"},
      {"[[[unclosed\n", "line 1: '[[[unclosed': claud's config has no sections"},
      {"role = \"dev\"\nlabel = [1, 2\n", "line 2: unclosed ["},
      {"role = \"dev\"\nslave-timout-ms = 10\n", "did you mean 'slave-timeout-ms'?"},
      {std::string(4096, '\x07'), "line 1: a control byte 0x07"},
  };
  int n = 0;
  for (const auto& [text, expected] : cases) {
    auto file = c.root() + "/bad-" + std::to_string(++n) + ".conf";
    std::ofstream{file} << text;
    auto r = c.run_raw({"--role=dev", "--config", file, "--data-dir", c.root() + "/d"});
    INFO(r.describe());
    CHECK(r.exit_code == 2);
    CHECK(r.err.rfind("claud: error: " + file + " ", 0) == 0);
    CHECK(r.err.find(expected) != std::string::npos);
    CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
    CHECK(r.out.empty()); // it never started
  }
}
