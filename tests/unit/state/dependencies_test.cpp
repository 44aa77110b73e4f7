// dependencies: how --after is written and checked, what each end means for a job waiting, and
// the reasons users read.
#include "state/dependencies.hpp"

#include <catch2/catch.hpp>

#include <map>
#include <string>

using namespace claud;
using namespace claud::state;

TEST_CASE("--after takes JOB, JOB:ok, JOB:any and JOB:fail") {
  pb::Dependency d;
  CHECK(parse_dependency("7", d) == "");
  CHECK(d.job_id() == "7");
  CHECK(d.condition() == pb::AFTER_OK);
  CHECK(dependency_text(d) == "7:ok");
  CHECK(parse_dependency("12:any", d) == "");
  CHECK(dependency_text(d) == "12:any");
  CHECK(parse_dependency("3:fail", d) == "");
  CHECK(d.condition() == pb::AFTER_FAIL);
  CHECK(parse_dependency("3:ok", d) == "");
  CHECK(d.condition() == pb::AFTER_OK);
}

TEST_CASE("--after refuses what is not a job id or a condition, saying what it takes") {
  pb::Dependency d;
  for (const char* bad : {"", ":ok", "x", "07", "-1", "7.5", "123456789012345678901", "7 "})
    CHECK(parse_dependency(bad, d).find("is not JOB, JOB:ok, JOB:any or JOB:fail")
          != std::string::npos);
  CHECK(parse_dependency("7:done", d)
        == "--after: '7:done': the condition must be ok (it succeeded), any (it ended) or fail "
           "(it did not succeed)");
  CHECK(parse_dependency("7:", d).find("the condition must be") != std::string::npos);
}

TEST_CASE("ok is met by success, fail by any other end, any by every end") {
  const std::map<pb::JobState, bool> succeeded{{pb::JOB_SUCCEEDED, true},
                                               {pb::JOB_FAILED, false},
                                               {pb::JOB_KILLED, false},
                                               {pb::JOB_LOST, false}};
  for (const auto& [ended, success] : succeeded) {
    INFO(static_cast<int>(ended));
    CHECK((judge_dependency(pb::AFTER_OK, ended) == dependency_verdict::met) == success);
    CHECK((judge_dependency(pb::AFTER_FAIL, ended) == dependency_verdict::met) == !success);
    CHECK(judge_dependency(pb::AFTER_ANY, ended) == dependency_verdict::met);
  }
}

TEST_CASE("a spec's dependencies are bounded, well formed and name each job once") {
  pb::JobSpec spec;
  CHECK(dependencies_problem(spec) == "");
  auto* first = spec.add_after();
  first->set_job_id("4");
  CHECK(dependencies_problem(spec) == "");
  spec.add_after()->set_job_id("4");
  CHECK(dependencies_problem(spec) == "--after names job 4 twice; name each job once");
  spec.mutable_after(1)->set_job_id("5");
  spec.mutable_after(1)->set_condition(static_cast<pb::DependencyCondition>(9));
  CHECK(dependencies_problem(spec) == "--after 5: unknown condition 9; use ok, any or fail");
  spec.mutable_after(1)->set_condition(pb::AFTER_ANY);
  spec.mutable_after(1)->set_job_id("five");
  CHECK(dependencies_problem(spec) == "--after: 'five' is not a job id");
  spec.clear_after();
  for (size_t i = 1; i <= max_dependencies + 1; ++i)
    spec.add_after()->set_job_id(std::to_string(i));
  CHECK(dependencies_problem(spec)
        == "the job waits for 1001 jobs (--after); at most 1000 are allowed");
  spec.mutable_after()->RemoveLast();
  CHECK(dependencies_problem(spec) == "");
}

TEST_CASE("the reasons name the jobs waited for and how they ended") {
  pb::Job job;
  auto* ok = job.mutable_spec()->add_after();
  ok->set_job_id("7");
  auto* fail = job.mutable_spec()->add_after();
  fail->set_job_id("8");
  fail->set_condition(pb::AFTER_FAIL);
  CHECK(never_met_reason(job, "7", pb::JOB_FAILED)
        == "job 7 failed, and this job was to run only after it succeeded (--after 7:ok)");
  CHECK(never_met_reason(job, "8", pb::JOB_SUCCEEDED)
        == "job 8 succeeded, and this job was to run only if it did not succeed (--after "
           "8:fail)");

  const std::map<std::string, pb::JobState> states{{"7", pb::JOB_RUNNING},
                                                   {"8", pb::JOB_PENDING},
                                                   {"9", pb::JOB_PLACED},
                                                   {"10", pb::JOB_PENDING},
                                                   {"11", pb::JOB_RUNNING}};
  auto state_of = [&](const std::string& id) { return states.at(id); };
  job.add_waits_for("7");
  CHECK(waiting_reason(job, state_of) == "waits for job 7 (running)");
  job.add_waits_for("8");
  CHECK(waiting_reason(job, state_of) == "waits for jobs 7 (running) and 8 (pending)");
  job.add_waits_for("9");
  CHECK(waiting_reason(job, state_of) == "waits for jobs 7 (running), 8 (pending) and 9 (placed)");
  job.add_waits_for("10");
  job.add_waits_for("11");
  CHECK(waiting_reason(job, state_of)
        == "waits for jobs 7 (running), 8 (pending), 9 (placed) and 2 more");
}
