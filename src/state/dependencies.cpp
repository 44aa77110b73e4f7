#include "state/dependencies.hpp"

#include <algorithm>
#include <unordered_set>

#include <fmt/format.h>

#include "state/job_states.hpp"

namespace claud::state {

namespace {

/// Job ids are decimal counters; more digits than this is no job.
constexpr size_t max_job_id_digits = 20;

/// How many waited-for jobs a pending job's reason names before "and N more".
constexpr int jobs_named_in_reason = 3;

const char* condition_name(pb::DependencyCondition condition) {
  switch (condition) {
  case pb::AFTER_ANY:
    return "any";
  case pb::AFTER_FAIL:
    return "fail";
  default:
    return "ok";
  }
}

bool is_job_id(const std::string& text) {
  return !text.empty() && text.size() <= max_job_id_digits && text[0] != '0'
         && std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

pb::DependencyCondition condition_of(const pb::Job& job, const std::string& job_id) {
  for (const auto& dependency : job.spec().after())
    if (dependency.job_id() == job_id)
      return dependency.condition();
  return pb::AFTER_OK;
}

} // namespace

dependency_verdict judge_dependency(pb::DependencyCondition condition, pb::JobState ended) {
  const bool succeeded = ended == pb::JOB_SUCCEEDED;
  switch (condition) {
  case pb::AFTER_ANY:
    return dependency_verdict::met;
  case pb::AFTER_FAIL:
    return succeeded ? dependency_verdict::never_met : dependency_verdict::met;
  default:
    return succeeded ? dependency_verdict::met : dependency_verdict::never_met;
  }
}

std::string parse_dependency(const std::string& text, pb::Dependency& out) {
  const auto colon = text.find(':');
  const auto id = text.substr(0, colon);
  const auto condition = colon == std::string::npos ? std::string{"ok"} : text.substr(colon + 1);
  if (!is_job_id(id))
    return fmt::format("--after: '{}' is not JOB, JOB:ok, JOB:any or JOB:fail (e.g. 7:any)",
                       text.substr(0, 64));
  out.set_job_id(id);
  if (condition == "ok")
    out.set_condition(pb::AFTER_OK);
  else if (condition == "any")
    out.set_condition(pb::AFTER_ANY);
  else if (condition == "fail")
    out.set_condition(pb::AFTER_FAIL);
  else
    return fmt::format("--after: '{}': the condition must be ok (it succeeded), any (it ended) "
                       "or fail (it did not succeed)",
                       text.substr(0, 64));
  return {};
}

std::string dependency_text(const pb::Dependency& dependency) {
  return fmt::format("{}:{}", dependency.job_id(), condition_name(dependency.condition()));
}

std::string dependencies_problem(const pb::JobSpec& spec) {
  if (static_cast<size_t>(spec.after_size()) > max_dependencies)
    return fmt::format("the job waits for {} jobs (--after); at most {} are allowed",
                       spec.after_size(), max_dependencies);
  std::unordered_set<std::string> named;
  for (const auto& dependency : spec.after()) {
    if (!is_job_id(dependency.job_id()))
      return fmt::format("--after: '{}' is not a job id", dependency.job_id().substr(0, 64));
    if (!pb::DependencyCondition_IsValid(dependency.condition()))
      return fmt::format("--after {}: unknown condition {}; use ok, any or fail",
                         dependency.job_id(), static_cast<int>(dependency.condition()));
    if (!named.insert(dependency.job_id()).second)
      return fmt::format("--after names job {} twice; name each job once", dependency.job_id());
  }
  return {};
}

std::string never_met_reason(const pb::Job& job, const std::string& job_id, pb::JobState ended) {
  const auto condition = condition_of(job, job_id);
  return fmt::format("job {} {}, and this job was to run only {} (--after {}:{})", job_id,
                     job_state_name(ended),
                     condition == pb::AFTER_FAIL ? "if it did not succeed" : "after it succeeded",
                     job_id, condition_name(condition));
}

std::string waiting_reason(const pb::Job& job,
                           const std::function<pb::JobState(const std::string&)>& state_of) {
  const int count = job.waits_for_size();
  std::string named;
  for (int i = 0; i < std::min(count, jobs_named_in_reason); ++i) {
    if (i > 0)
      named += i + 1 == count ? " and " : ", ";
    const auto& id = job.waits_for(i);
    named += fmt::format("{} ({})", id, job_state_name(state_of(id)));
  }
  if (count > jobs_named_in_reason)
    named += fmt::format(" and {} more", count - jobs_named_in_reason);
  return fmt::format("waits for job{} {}", count == 1 ? "" : "s", named);
}

} // namespace claud::state
