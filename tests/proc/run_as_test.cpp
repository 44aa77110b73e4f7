// Jobs never run as root by accident: a slave started as root runs them as nobody unless
// --run-as names a user, root included; `claud nodes` says whom. A slave that is not root runs
// them as itself and refuses --run-as for anyone else. (The harness gives every other test's
// slaves --run-as with the test's own user; here the flag is chosen.)

#include <pwd.h>
#include <unistd.h>

#include <string>

#include <catch2/catch.hpp>

#include "cluster.hpp"

using namespace claud::test;

namespace {

/// What a job prints of who it runs as: its user name, $HOME and $USER.
std::string job_user(cluster& c) {
  auto id = c.submit({"sh", "-c", "echo $(id -un) $HOME $USER"});
  REQUIRE(c.wait_job(id)["state"].str() == "succeeded");
  auto logs = c.run({"logs", id});
  REQUIRE(logs.exit_code == 0);
  return logs.out;
}

std::string home_of(const std::string& user) {
  const passwd* entry = ::getpwnam(user.c_str());
  REQUIRE(entry != nullptr);
  return entry->pw_dir;
}

} // namespace

TEST_CASE("a slave started as root runs jobs as nobody, or as --run-as names") {
  if (::geteuid() != 0) {
    cluster c;
    auto r = c.run_raw({"--role=dev", "--run-as", "root", "--data-dir", c.root() + "/d"});
    INFO(r.describe());
    CHECK(r.exit_code == 1);
    CHECK(r.err.find("--run-as root needs a slave started as root") != std::string::npos);
    return;
  }
  {
    cluster c;
    c.start_dev("d", {"--run-as", ""}); // the default: nobody
    CHECK(job_user(c) == "nobody " + home_of("nobody") + " nobody\n");
    CHECK(c.run({"nodes", "--json"}).out.find("\"run_as\":\"nobody\"") != std::string::npos);
    CHECK(c.run({"nodes"}).out.find(" nobody ") != std::string::npos);
  }
  {
    cluster c;
    c.start_dev("d", {"--run-as", "root"});
    CHECK(job_user(c) == "root " + home_of("root") + " root\n");
  }
  {
    cluster c;
    auto r
        = c.run_raw({"--role=dev", "--run-as", "no-such-user-here", "--data-dir", c.root() + "/d"});
    INFO(r.describe());
    CHECK(r.exit_code == 1);
    CHECK(r.err == "claud: error: --run-as no-such-user-here: no such user on this machine\n");
  }
}
