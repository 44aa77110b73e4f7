#pragma once
// What Tab completes in the REPL, pure (line_editor asks; repl.cpp gives the sources): a command
// name first; then the command's flags after "-"; job ids where a job is named (status, wait,
// logs, kill, --after, --job) and node ids where a node is (drain); file names where a local file
// is named (run, --env-file); the view of `top` (or `watch`): jobs or nodes. `what_to_complete`
// says which, and the caller lists the candidates.

#include <string>
#include <vector>

namespace claud::cli {

enum class completion_kind { none, command, flag, job_id, node_id, file, view };

struct completion_request {
  completion_kind kind = completion_kind::none;
  std::string command; // for flags: whose
};

/// What the word being typed is, given the words before it on the line.
completion_request what_to_complete(const std::vector<std::string>& before,
                                    const std::string& word);

/// The candidates that start with `word`, sorted, without repeats.
std::vector<std::string> matching(const std::vector<std::string>& candidates,
                                  const std::string& word);

} // namespace claud::cli
