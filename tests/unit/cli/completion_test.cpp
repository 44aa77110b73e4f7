// completion: what Tab completes at each place of a REPL line, and the matching candidates.
#include "cli/completion.hpp"

#include <catch2/catch.hpp>

using namespace claud::cli;
using words = std::vector<std::string>;

namespace {

completion_kind kind_of(const words& before, const std::string& word) {
  return what_to_complete(before, word).kind;
}

} // namespace

TEST_CASE("the first word is a command; help takes one") {
  CHECK(kind_of({}, "sta") == completion_kind::command);
  CHECK(kind_of({"help"}, "") == completion_kind::command);
  CHECK(kind_of({"help", "status"}, "") == completion_kind::none);
}

TEST_CASE("flags complete as the command's, and values by what they name") {
  auto flag = what_to_complete({"submit"}, "--cp");
  CHECK(flag.kind == completion_kind::flag);
  CHECK(flag.command == "submit");
  CHECK(kind_of({"submit", "--after"}, "") == completion_kind::job_id);
  CHECK(kind_of({"events", "--job"}, "1") == completion_kind::job_id);
  CHECK(kind_of({"submit", "--env-file"}, "./") == completion_kind::file);
  CHECK(kind_of({"status"}, "") == completion_kind::job_id);
  CHECK(kind_of({"watch"}, "n") == completion_kind::view);
  CHECK(kind_of({"top", "jobs"}, "") == completion_kind::none);
  CHECK(kind_of({"logs", "-f"}, "") == completion_kind::job_id);
  CHECK(kind_of({"kill"}, "4") == completion_kind::job_id);
  CHECK(kind_of({"drain"}, "") == completion_kind::node_id);
  CHECK(kind_of({"run"}, "jo") == completion_kind::file);
  CHECK(kind_of({"jobs"}, "") == completion_kind::none);
}

TEST_CASE("after -- comes the job's own command line, which claud does not complete") {
  CHECK(kind_of({"submit", "--", "sh"}, "-") == completion_kind::none);
  CHECK(kind_of({"submit", "--cpus", "2", "--"}, "") == completion_kind::none);
}

TEST_CASE("candidates match by prefix, sorted and once") {
  CHECK(matching({"status", "submit", "stop", "status"}, "st") == words{"status", "stop"});
  CHECK(matching({"12", "1", "3"}, "") == words{"1", "12", "3"});
  CHECK(matching({"a"}, "b").empty());
}
