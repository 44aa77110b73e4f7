// env_file: NAME=VALUE lines, comments and blank lines skipped, values taken literally, and the
// first mistake named with its file and line.
#include "cli/env_file.hpp"

#include <catch2/catch.hpp>

#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

using namespace claud;

TEST_CASE("an env file's lines become variables, in order, literally") {
  std::vector<pb::EnvVar> vars;
  CHECK(cli::parse_env_file("# settings\nLANG=C.UTF-8\n\nQUOTED=\"kept\" as is\r\nURL=a=b\nLAST=x",
                            "job.env", vars)
        == "");
  REQUIRE(vars.size() == 4);
  CHECK(vars[0].name() == "LANG");
  CHECK(vars[1].value() == "\"kept\" as is");
  CHECK(vars[2].value() == "a=b");
  CHECK(vars[3].name() == "LAST");
  CHECK(vars[3].value() == "x");
}

TEST_CASE("a wrong line in an env file is named with its file and line") {
  std::vector<pb::EnvVar> vars;
  CHECK(cli::parse_env_file("A=1\n\nexport B=2\n", "job.env", vars)
        == "job.env:3: --env: 'export B' is not a variable name: use A-Z a-z 0-9 _, not "
           "starting with a digit");
  CHECK(cli::parse_env_file("JUSTANAME\n", "job.env", vars)
        == "job.env:1: --env 'JUSTANAME' must be NAME=VALUE, e.g. --env LANG=C.UTF-8");
}

TEST_CASE("an env file that is missing or too large is refused before anything is sent") {
  CHECK_THROWS_WITH(cli::read_env_file("/nonexistent/job.env"),
                    "--env-file /nonexistent/job.env: cannot be read (No such file or directory)");
  char path[] = "/tmp/claud-env-file-test-XXXXXX";
  int fd = ::mkstemp(path);
  REQUIRE(fd >= 0);
  ::close(fd);
  {
    std::ofstream file{path};
    file << "A=" << std::string(cli::max_env_file_bytes, 'x') << "\n";
  }
  CHECK_THROWS_WITH(cli::read_env_file(path),
                    std::string("--env-file ") + path
                        + ": larger than 1048576 bytes; a job's environment is far smaller");
  {
    std::ofstream file{path};
    file << "A=1\n";
  }
  auto vars = cli::read_env_file(path);
  std::remove(path);
  REQUIRE(vars.size() == 1);
  CHECK(vars[0].value() == "1");
}
