// command_line: a REPL line splits into the words a POSIX shell would give, without expansion,
// and a line it cannot split says why.
#include "cli/command_line.hpp"

#include <catch2/catch.hpp>

using claud::cli::split_command_line;
using words = std::vector<std::string>;

TEST_CASE("blanks separate words, and quotes and backslashes keep what they hold") {
  CHECK(split_command_line("  submit   --cpus 2\t-- true ").words
        == words{"submit", "--cpus", "2", "--", "true"});
  CHECK(split_command_line(R"(submit -- sh -c 'echo $HOME; exit 3')").words
        == words{"submit", "--", "sh", "-c", "echo $HOME; exit 3"});
  CHECK(split_command_line(R"(a "b \"c\" \\ \$x \n" d)").words
        == words{"a", R"(b "c" \ $x \n)", "d"});
  CHECK(split_command_line(R"(one\ word x\'y)").words == words{"one word", "x'y"});
  CHECK(split_command_line(R"(--name '' "" x)").words == words{"--name", "", "", "x"});
  CHECK(split_command_line(R"(a'b'"c"d)").words == words{"abcd"});
}

TEST_CASE("a # that begins a word begins a comment; blank lines have no words") {
  CHECK(split_command_line("jobs # what runs").words == words{"jobs"});
  CHECK(split_command_line("# only a comment").words.empty());
  CHECK(split_command_line("echo a#b '#c'").words == words{"echo", "a#b", "#c"});
  CHECK(split_command_line("").words.empty());
  CHECK(split_command_line("   \t ").words.empty());
}

TEST_CASE("a line that cannot be split says why") {
  CHECK(split_command_line("status 'x").error == "a single quote (') is not closed");
  CHECK(split_command_line("status \"x").error == "a double quote (\") is not closed");
  CHECK(split_command_line("status x\\").error
        == "the line ends with a backslash; escape it (\\\\) or remove it");
  CHECK(split_command_line(std::string{"a\0b", 3}).error
        == "the line contains a NUL byte, which no argument can hold");
  const std::string huge(claud::cli::max_command_line_bytes + 1, 'x');
  CHECK(split_command_line(huge).error == "the line is 65537 bytes long; at most 65536 are read");
  CHECK(split_command_line(huge.substr(1)).error.empty());
}
