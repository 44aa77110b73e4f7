#include "cli/completion.hpp"

#include <algorithm>
#include <set>

namespace claud::cli {

namespace {

bool one_of(const std::string& word, std::initializer_list<const char*> names) {
  return std::any_of(names.begin(), names.end(), [&](const char* n) { return word == n; });
}

} // namespace

completion_request what_to_complete(const std::vector<std::string>& before,
                                    const std::string& word) {
  if (before.empty())
    return {completion_kind::command, {}};
  const auto& command = before.front();
  if (command == "help")
    return {before.size() == 1 ? completion_kind::command : completion_kind::none, {}};
  // After `--` comes the job's own command line: nothing of claud's.
  if (std::find(before.begin(), before.end(), "--") != before.end())
    return {completion_kind::none, {}};
  const auto& previous = before.back();
  if (one_of(previous, {"--after", "--job"}))
    return {completion_kind::job_id, {}};
  if (one_of(previous, {"--env-file"}))
    return {completion_kind::file, {}};
  if (!word.empty() && word[0] == '-')
    return {completion_kind::flag, command};
  if (one_of(command, {"status", "wait", "logs", "kill"}))
    return {completion_kind::job_id, {}};
  if (command == "drain")
    return {completion_kind::node_id, {}};
  if (command == "run")
    return {completion_kind::file, {}};
  if (one_of(command, {"top", "watch"}) && before.size() == 1)
    return {completion_kind::view, {}};
  return {completion_kind::none, {}};
}

std::vector<std::string> matching(const std::vector<std::string>& candidates,
                                  const std::string& word) {
  std::set<std::string> out;
  for (const auto& c : candidates)
    if (c.compare(0, word.size(), word) == 0)
      out.insert(c);
  return {out.begin(), out.end()};
}

} // namespace claud::cli
