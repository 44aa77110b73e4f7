// job_states: which states are terminal or hold resources, the names the CLI and --json print, and
// which roles run jobs.
#include "state/job_states.hpp"

#include <catch2/catch.hpp>

#include <set>
#include <string>

using namespace claud;
using namespace claud::state;

TEST_CASE("terminal states are exactly succeeded, failed, killed and lost") {
  CHECK_FALSE(is_terminal(pb::JOB_STATE_UNSPECIFIED));
  CHECK_FALSE(is_terminal(pb::JOB_PENDING));
  CHECK_FALSE(is_terminal(pb::JOB_PLACED));
  CHECK_FALSE(is_terminal(pb::JOB_RUNNING));
  CHECK(is_terminal(pb::JOB_SUCCEEDED));
  CHECK(is_terminal(pb::JOB_FAILED));
  CHECK(is_terminal(pb::JOB_KILLED));
  CHECK(is_terminal(pb::JOB_LOST));
}

TEST_CASE("only placed and running jobs hold resources") {
  for (int s = pb::JobState_MIN; s <= pb::JobState_MAX; ++s) {
    auto state = static_cast<pb::JobState>(s);
    INFO(job_state_name(state));
    CHECK(holds_resources(state) == (state == pb::JOB_PLACED || state == pb::JOB_RUNNING));
    if (holds_resources(state))
      CHECK_FALSE(is_terminal(state));
  }
}

TEST_CASE("every job state has its own lower-case name") {
  CHECK(job_state_name(pb::JOB_PENDING) == "pending");
  CHECK(job_state_name(pb::JOB_PLACED) == "placed");
  CHECK(job_state_name(pb::JOB_RUNNING) == "running");
  CHECK(job_state_name(pb::JOB_SUCCEEDED) == "succeeded");
  CHECK(job_state_name(pb::JOB_FAILED) == "failed");
  CHECK(job_state_name(pb::JOB_KILLED) == "killed");
  CHECK(job_state_name(pb::JOB_LOST) == "lost");
  CHECK(job_state_name(pb::JOB_STATE_UNSPECIFIED) == "unknown");
  CHECK(job_state_name(static_cast<pb::JobState>(99)) == "unknown");
  std::set<std::string> names;
  for (int s = pb::JOB_PENDING; s <= pb::JobState_MAX; ++s)
    names.insert(job_state_name(static_cast<pb::JobState>(s)));
  CHECK(names.size() == static_cast<size_t>(pb::JobState_MAX));
  CHECK(names.count("unknown") == 0);
}

TEST_CASE("node states and roles have names") {
  CHECK(node_state_name(pb::NODE_ALIVE) == "alive");
  CHECK(node_state_name(pb::NODE_DOWN) == "down");
  CHECK(node_state_name(pb::NODE_STATE_UNSPECIFIED) == "unknown");
  CHECK(node_role_name(pb::ROLE_MASTER) == "master");
  CHECK(node_role_name(pb::ROLE_SLAVE) == "slave");
  CHECK(node_role_name(pb::ROLE_DEV) == "dev");
  CHECK(node_role_name(pb::NODE_ROLE_UNSPECIFIED) == "unknown");
}

TEST_CASE("slaves and dev nodes run jobs, masters do not") {
  CHECK(runs_jobs(pb::ROLE_SLAVE));
  CHECK(runs_jobs(pb::ROLE_DEV));
  CHECK_FALSE(runs_jobs(pb::ROLE_MASTER));
  CHECK_FALSE(runs_jobs(pb::NODE_ROLE_UNSPECIFIED));
}
