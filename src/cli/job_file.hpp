#pragma once
// Job files: `claud run FILE.json` reads the job a JSON document describes, in the schema of the
// job that `claud status --json` prints (views.proto's Job; the fields that describe a job's
// state, such as id, state or history, are read and ignored, so a status is accepted back). Lines
// whose first non-blank characters are // are comments. A mistake is one line naming the file and
// the field's path, and nothing is submitted.

#include <string>

#include "cluster.pb.h"

namespace claud::cli {

/// The most a job file may hold.
constexpr size_t max_job_file_bytes = 1 << 20;

/// The job spec FILE describes; throws std::invalid_argument saying what is wrong where.
pb::JobSpec read_job_file(const std::string& path);

/// The job spec a job file's text describes (`origin` names it in errors).
pb::JobSpec parse_job_file(const std::string& text, const std::string& origin);

/// A commented sample job file, every field with its meaning (`claud run --example`).
const char* example_job_file();

} // namespace claud::cli
