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

TEST_CASE("a job asks for a user that its slave allows, else it is refused at submission") {
  if (::geteuid() != 0) {
    cluster c;
    auto r = c.run_raw({"--role=dev", "--allow-users", "root", "--data-dir", c.root() + "/d"});
    INFO(r.describe());
    CHECK(r.exit_code == 1);
    CHECK(r.err.find("--allow-users root needs a slave started as root") != std::string::npos);
    return;
  }
  cluster c;
  c.start_master("m");
  c.start_slave("s1", "2", "1G", {"--run-as", "nobody", "--allow-users", "daemon,sys"});
  c.start_slave("s2", "4", "1G", {"--run-as", "nobody"});
  auto runs_as = [&](const std::vector<std::string>& options) {
    auto id = c.submit({"sh", "-c", "echo $(id -un) $HOME"}, options);
    auto job = c.wait_job(id);
    REQUIRE(job["state"].str() == "succeeded");
    auto logs = c.run({"logs", id});
    REQUIRE(logs.exit_code == 0);
    return job["node"].str() + " " + logs.out;
  };
  CHECK(runs_as({"--user", "daemon"}) == "s1 daemon " + home_of("daemon") + "\n");
  CHECK(runs_as({"--user", "sys", "--strategy", "spread"}) == "s1 sys " + home_of("sys") + "\n");
  // The user a slave runs jobs as needs no --allow-users: spread picks the larger s2.
  CHECK(runs_as({"--user", "nobody", "--strategy", "spread"})
        == "s2 nobody " + home_of("nobody") + "\n");
  CHECK(c.node_record("s1")["allowed_users"].size() == 2);
  CHECK(c.run({"nodes"}).out.find(" nobody+daemon,sys ") != std::string::npos);
  auto status = c.run({"status", c.submit({"true"}, {"--user", "daemon"})});
  CHECK(status.out.find("user:        daemon\n") != std::string::npos);

  auto refused = c.run({"submit", "--user", "bin", "--", "true"});
  INFO(refused.describe());
  CHECK(refused.exit_code != 0);
  CHECK(refused.err.find("it asks to run as bin, which no known node allows; start a slave with "
                         "--allow-users bin or drop --user")
        != std::string::npos);
  auto malformed = c.run({"submit", "--user", "-x", "--", "true"});
  CHECK(malformed.exit_code != 0);
  CHECK(malformed.err.find("--user '-x': a user name is") != std::string::npos);
  CHECK(c.jobs().size() == 4); // the refused ones left nothing behind
}

TEST_CASE("--allow-users names existing users, on a node that runs jobs") {
  cluster c;
  int starts = 0;
  auto start = [&](std::vector<std::string> args) {
    args.insert(args.end(), {"--data-dir", c.root() + "/d" + std::to_string(++starts)});
    return c.run_raw(args);
  };
  auto unknown = start({"--role=dev", "--allow-users", "daemon,no-such-user-here"});
  INFO(unknown.describe());
  CHECK(unknown.exit_code == 1);
  if (::geteuid() == 0)
    CHECK(unknown.err
          == "claud: error: --allow-users no-such-user-here: no such user on this machine\n");
  auto malformed = start({"--role=dev", "--allow-users", "ok,bad name"});
  CHECK(malformed.exit_code == 1);
  CHECK(malformed.err.find("--allow-users 'bad name': a user name is") != std::string::npos);
  auto master = start({"--role=master", "--allow-users", "daemon"});
  CHECK(master.exit_code == 1);
  CHECK(master.err.find("a master runs none") != std::string::npos);
}
