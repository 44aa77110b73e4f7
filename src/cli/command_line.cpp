#include "cli/command_line.hpp"

#include <fmt/format.h>

namespace claud::cli {

namespace {

bool is_blank(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/// The characters a backslash escapes inside double quotes (POSIX).
bool escapable_in_double_quotes(char c) {
  return c == '"' || c == '\\' || c == '$' || c == '`';
}

} // namespace

split_line split_command_line(const std::string& line) {
  split_line out;
  if (line.size() > max_command_line_bytes) {
    out.error = fmt::format("the line is {} bytes long; at most {} are read", line.size(),
                            max_command_line_bytes);
    return out;
  }
  if (line.find('\0') != std::string::npos) {
    out.error = "the line contains a NUL byte, which no argument can hold";
    return out;
  }
  std::string word;
  bool in_word = false; // a word has begun (an empty quoted word counts)
  for (size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (is_blank(c)) {
      if (in_word)
        out.words.push_back(std::move(word));
      word.clear();
      in_word = false;
      continue;
    }
    if (c == '#' && !in_word)
      break;
    in_word = true;
    if (c == '\\') {
      if (++i == line.size()) {
        out.error = "the line ends with a backslash; escape it (\\\\) or remove it";
        return out;
      }
      word += line[i];
    } else if (c == '\'') {
      const auto close = line.find('\'', i + 1);
      if (close == std::string::npos) {
        out.error = "a single quote (') is not closed";
        return out;
      }
      word.append(line, i + 1, close - i - 1);
      i = close;
    } else if (c == '"') {
      for (++i;; ++i) {
        if (i == line.size()) {
          out.error = "a double quote (\") is not closed";
          return out;
        }
        if (line[i] == '"')
          break;
        if (line[i] == '\\' && i + 1 < line.size() && escapable_in_double_quotes(line[i + 1]))
          ++i;
        word += line[i];
      }
    } else {
      word += c;
    }
  }
  if (in_word)
    out.words.push_back(std::move(word));
  return out;
}

} // namespace claud::cli
