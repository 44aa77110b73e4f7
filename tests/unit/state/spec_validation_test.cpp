// spec_validation: a valid spec passes; each kind of wrong spec gets its own one-line message, and
// every bound is a setting (spec_limits) checked at its edge; labels and constraints parse from
// their flags' text.
#include "state/spec_validation.hpp"

#include <catch2/catch.hpp>

#include <string>

using namespace claud;
using claud::state::spec_limits;
using claud::state::validate_spec;

namespace {

pb::JobSpec valid_spec() {
  pb::JobSpec s;
  s.set_name("build");
  s.add_argv("make");
  s.add_argv("-j2");
  s.set_cpu_millis(500);
  s.set_memory_bytes(64 * 1024 * 1024);
  return s;
}

} // namespace

TEST_CASE("a valid spec passes") {
  CHECK(validate_spec(valid_spec()) == "");
  auto unnamed = valid_spec();
  unnamed.clear_name();
  CHECK(validate_spec(unnamed) == "");
}

TEST_CASE("environment variables and the working directory are checked and bounded") {
  auto spec = valid_spec();
  pb::EnvVar var;
  CHECK(state::parse_env("LANG=C.UTF-8", var) == "");
  CHECK(var.name() == "LANG");
  CHECK(var.value() == "C.UTF-8");
  CHECK(state::parse_env("EMPTY=", var) == "");
  CHECK(var.value().empty());
  CHECK(state::parse_env("URL=a=b", var) == "");
  CHECK(var.value() == "a=b");
  CHECK(state::parse_env("NOVALUE", var)
        == "--env 'NOVALUE' must be NAME=VALUE, e.g. --env LANG=C.UTF-8");
  for (const char* bad : {"=x", "1X=y", "A-B=c", "A B=c"})
    CHECK(state::parse_env(bad, var).find("is not a variable name") != std::string::npos);

  REQUIRE(state::parse_env("URL=a=b", var) == "");
  *spec.add_env() = var;
  spec.set_workdir("/srv/data");
  CHECK(validate_spec(spec) == "");
  spec.mutable_env(0)->set_value(std::string("a\0b", 3));
  CHECK(validate_spec(spec)
        == "--env: the value of URL contains a NUL byte, which an environment "
           "cannot hold");
  spec.mutable_env(0)->set_value("ok");
  spec.mutable_env(0)->set_name("9LIVES");
  CHECK(validate_spec(spec).find("'9LIVES' is not a variable name") != std::string::npos);
  spec.mutable_env(0)->set_name("OK");

  spec_limits limits;
  limits.max_env_vars = 2;
  limits.max_environment_bytes = 16;
  *spec.add_env() = spec.env(0);
  CHECK(validate_spec(spec, limits) == ""); // OK=ok twice: 12 bytes
  *spec.add_env() = spec.env(0);
  CHECK(validate_spec(spec, limits)
        == "the job sets 3 environment variables; at most 2 are allowed");
  spec.mutable_env()->RemoveLast();
  spec.mutable_env(1)->set_value("longer1");
  CHECK(validate_spec(spec, limits) == "the job's environment is 17 bytes; at most 16 are allowed");
  spec.clear_env();

  for (const char* bad : {"relative/dir", "./x"})
    CHECK(validate_spec([&] {
            auto s = spec;
            s.set_workdir(bad);
            return s;
          }())
              .find("must be an absolute path on the slave")
          != std::string::npos);
  spec.set_workdir("/" + std::string(limits.max_path_bytes, 'd'));
  CHECK(validate_spec(spec).find("--workdir") != std::string::npos);
}

TEST_CASE("a timeout is none or at most a year") {
  auto spec = valid_spec();
  spec.set_timeout_ms(30'000);
  CHECK(validate_spec(spec) == "");
  spec.set_timeout_ms(-1);
  CHECK(validate_spec(spec) == "--timeout must be at most 366d (or none)");
  spec.set_timeout_ms(spec_limits{}.max_timeout_ms + 1);
  CHECK(validate_spec(spec) == "--timeout must be at most 366d (or none)");
}

TEST_CASE("an empty command is refused with how to give one") {
  auto s = valid_spec();
  s.clear_argv();
  CHECK(validate_spec(s)
        == "the command is empty; give it after `--`, e.g. `claud submit -- echo hi`");
  s.add_argv("");
  s.add_argv("x");
  CHECK(validate_spec(s).find("the command is empty") == 0);
}

TEST_CASE("the number and size of arguments are bounded") {
  spec_limits limits;
  limits.max_args = 3;
  limits.max_command_bytes = 12; // each argument counts its bytes and a terminating NUL
  auto s = valid_spec();         // "make" "-j2": 5 + 4 = 9 bytes
  CHECK(validate_spec(s, limits) == "");
  s.add_argv("ab"); // 12 bytes, 3 arguments: at both bounds
  CHECK(validate_spec(s, limits) == "");
  s.set_argv(2, "abc");
  CHECK(validate_spec(s, limits) == "the command is 13 bytes long; at most 12 are allowed");
  s.set_argv(2, "a");
  s.add_argv("b");
  CHECK(validate_spec(s, limits) == "the command has 4 arguments; at most 3 are allowed");
}

TEST_CASE("an argument with a NUL byte is refused") {
  auto s = valid_spec();
  s.add_argv(std::string("a\0b", 3));
  CHECK(validate_spec(s) == "an argument contains a NUL byte, which a process cannot receive");
}

TEST_CASE("the name must be short and printable") {
  auto s = valid_spec();
  s.set_name(std::string(128, 'n'));
  CHECK(validate_spec(s) == "");
  s.set_name(std::string(129, 'n'));
  CHECK(validate_spec(s) == "the job name must have no control characters and at most 128 bytes");
  for (const char* bad : {"tab\there", "line\n", "bell\a", "del\x7f"}) {
    s.set_name(bad);
    CHECK(validate_spec(s) == "the job name must have no control characters and at most 128 bytes");
  }
  s.set_name("héllo wörld"); // UTF-8 is printable
  CHECK(validate_spec(s) == "");
}

TEST_CASE("resources must be asked for") {
  auto s = valid_spec();
  s.set_cpu_millis(0);
  CHECK(validate_spec(s) == "the job must ask for more than 0 CPUs, e.g. --cpus 0.1");
  s.set_cpu_millis(-5);
  CHECK(validate_spec(s) == "the job must ask for more than 0 CPUs, e.g. --cpus 0.1");
  s.set_cpu_millis(1);
  CHECK(validate_spec(s) == "");
  s.set_memory_bytes(1024 * 1024 - 1);
  CHECK(validate_spec(s) == "the job must ask for at least 1 MiB of memory, e.g. --memory 64M");
  s.set_memory_bytes(1024 * 1024);
  CHECK(validate_spec(s) == "");
  spec_limits limits;
  limits.min_memory_bytes = 16 * 1024 * 1024;
  CHECK(validate_spec(s, limits)
        == "the job must ask for at least 16 MiB of memory, e.g. --memory 64M");
}

TEST_CASE("labels are KEY=VALUE of 1 to 63 safe characters") {
  std::string key;
  std::string value;
  CHECK(state::parse_label("zone=eu-west.1_a", key, value) == "");
  CHECK(key == "zone");
  CHECK(value == "eu-west.1_a");
  CHECK(state::parse_label("zone", key, value)
        == "--label 'zone' must be KEY=VALUE, e.g. --label zone=a");
  const std::string rule = "keys and values must be 1 to 63 characters of A-Z a-z 0-9 . _ -";
  CHECK(state::parse_label("=a", key, value) == "--label '': " + rule);
  CHECK(state::parse_label("zone=", key, value) == "--label '': " + rule);
  CHECK(state::parse_label("zone=a=b", key, value) == "--label 'a=b': " + rule);
  CHECK(state::parse_label("my zone=a", key, value) == "--label 'my zone': " + rule);
  CHECK(state::parse_label("zone=" + std::string(63, 'v'), key, value) == "");
  CHECK(state::parse_label("zone=" + std::string(64, 'v'), key, value)
        == "--label '" + std::string(63, 'v') + "...': " + rule);
  CHECK(state::parse_label(std::string(63, 'k') + "=v", key, value) == "");
}

TEST_CASE("constraints are KEY=VALUE or KEY!=VALUE") {
  pb::Constraint c;
  CHECK(state::parse_constraint("zone=a", c) == "");
  CHECK(c.key() == "zone");
  CHECK(c.value() == "a");
  CHECK_FALSE(c.negated());
  CHECK(state::constraint_text(c) == "zone=a");
  CHECK(state::parse_constraint("disk!=hdd", c) == "");
  CHECK(c.key() == "disk");
  CHECK(c.value() == "hdd");
  CHECK(c.negated());
  CHECK(state::constraint_text(c) == "disk!=hdd");
  CHECK(state::parse_constraint("zone", c)
        == "--constraint 'zone' must be KEY=VALUE or KEY!=VALUE, e.g. zone=a");
  CHECK(state::parse_constraint("!=a", c).find("--constraint '': keys and values") == 0);
  CHECK(state::parse_constraint("zone==a", c).find("--constraint '=a'") == 0);
  CHECK(state::parse_constraint("zone=a b", c).find("--constraint 'a b'") == 0);
}

TEST_CASE("a spec's constraints and strategy are checked") {
  auto s = valid_spec();
  REQUIRE(state::parse_constraint("zone=a", *s.add_constraints()) == "");
  REQUIRE(state::parse_constraint("disk!=hdd", *s.add_constraints()) == "");
  s.set_strategy(pb::STRATEGY_SPREAD);
  CHECK(validate_spec(s) == "");
  spec_limits limits;
  limits.max_constraints = 2;
  CHECK(validate_spec(s, limits) == "");
  s.add_constraints()->CopyFrom(s.constraints(0));
  CHECK(validate_spec(s, limits) == "the job has 3 constraints; at most 2 are allowed");
  s.mutable_constraints(2)->set_value("x\ny");
  // Echoed without its control byte, which a terminal would act on.
  CHECK(validate_spec(s).find("--constraint 'x?y': keys and values must be") == 0);
  s.mutable_constraints(2)->set_value("ok");
  s.mutable_constraints(1)->set_key("");
  CHECK(validate_spec(s).find("--constraint '': keys and values must be") == 0);
  s.mutable_constraints(1)->set_key("disk");
  CHECK(validate_spec(s) == "");
  s.set_strategy(static_cast<pb::PlacementStrategy>(7));
  CHECK(validate_spec(s) == "unknown placement strategy; use binpack or spread");
}

TEST_CASE("a job's user is a portable user name, or none") {
  auto s = valid_spec();
  CHECK(validate_spec(s) == "");
  for (const auto* good : {"alice", "_apt", "www-data", "a.b", "A1", "x"}) {
    s.set_user(good);
    CHECK(validate_spec(s) == "");
  }
  const std::string rule
      = "a user name is 1 to 32 characters of A-Z a-z 0-9 . _ -, not starting with -";
  s.set_user("-rf");
  CHECK(validate_spec(s) == "--user '-rf': " + rule);
  s.set_user("al ice");
  CHECK(validate_spec(s) == "--user 'al ice': " + rule);
  s.set_user("root\x1b[2J");
  CHECK(validate_spec(s) == "--user 'root?[2J': " + rule);
  s.set_user(std::string(33, 'a'));
  CHECK(validate_spec(s) == "--user '" + std::string(32, 'a') + "...': " + rule);
  CHECK(state::user_name_problem("", "--allow-users") == "--allow-users '': " + rule);
}
