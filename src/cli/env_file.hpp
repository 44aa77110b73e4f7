#pragma once
// `submit --env-file FILE`: one NAME=VALUE a line, as `docker run --env-file` reads it (no
// quoting, no expansion: the value is the rest of the line); blank lines and lines starting with
// '#' are skipped. Pure: the text in, the variables or the first mistake out.

#include <string>
#include <vector>

#include "cluster.pb.h"

namespace claud::cli {

/// The largest env file read, in bytes (a job's whole environment is bounded below this anyway).
constexpr size_t max_env_file_bytes = 1024 * 1024;

/// Appends the variables of `text` (the file `file_name`) to `out`; returns empty, or one line
/// "FILE:LINE: what is wrong" (then `out` may hold the lines before it).
std::string parse_env_file(const std::string& text, const std::string& file_name,
                           std::vector<pb::EnvVar>& out);

/// Reads `path` (at most max_env_file_bytes) and parses it; throws std::invalid_argument with one
/// line when it cannot be read or has a mistake.
std::vector<pb::EnvVar> read_env_file(const std::string& path);

} // namespace claud::cli
