#pragma once
// Job dependencies (submit --after JOB[:ok|:any|:fail]): how one is written, and what the end of
// the job waited for means for the job that waits. Pure; cluster_state applies the verdicts.

#include <cstddef>
#include <functional>
#include <string>

#include "cluster.pb.h"

namespace claud::state {

/// The most jobs one job may wait for.
constexpr size_t max_dependencies = 1000;

/// What the end of a job waited for means for the job waiting.
enum class dependency_verdict {
  met,      // it ended as asked: one fewer to wait for
  never_met // it ended otherwise: the waiting job can never run
};

/// The verdict on a dependency of `condition` whose job ended in the terminal `ended`.
dependency_verdict judge_dependency(pb::DependencyCondition condition, pb::JobState ended);

/// Parses `--after` text: "7" (as 7:ok), "7:ok", "7:any" or "7:fail". Returns empty or one line
/// saying what is wrong.
std::string parse_dependency(const std::string& text, pb::Dependency& out);

/// "7:ok", as --after takes it.
std::string dependency_text(const pb::Dependency& dependency);

/// Empty when the spec's dependencies are well formed and in bounds, else one line.
std::string dependencies_problem(const pb::JobSpec& spec);

/// How `job` waits for its dependency `job_id`, which ended in `ended` otherwise than asked: the
/// reason the waiting job ends failed with.
std::string never_met_reason(const pb::Job& job, const std::string& job_id, pb::JobState ended);

/// Why a pending job with jobs to wait for waits: "waits for job 7 (running)", "waits for jobs 7
/// (running), 8 (pending) and 3 more". `state_of` gives a waited-for job's state.
std::string waiting_reason(const pb::Job& job,
                           const std::function<pb::JobState(const std::string&)>& state_of);

} // namespace claud::state
