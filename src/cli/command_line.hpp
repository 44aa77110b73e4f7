#pragma once
// A REPL line split into arguments as a POSIX shell splits words, without expansion: blanks
// separate words; 'single quotes' keep everything literally; "double quotes" keep everything but
// \" \\ \$ \` (a backslash before another character stays); a backslash outside quotes keeps the
// next character literally; # at the start of a word begins a comment. So a line pasted from a
// shell runs the same command.

#include <cstddef>
#include <string>
#include <vector>

namespace claud::cli {

/// The longest line the REPL reads; a longer one is refused, not cut.
constexpr size_t max_command_line_bytes = 64 * 1024;

struct split_line {
  std::vector<std::string> words;
  std::string error; // why the line cannot be split ("" when it can): an unclosed quote, ...
};

split_line split_command_line(const std::string& line);

} // namespace claud::cli
