#include "cli/line_editor.hpp"

#include <poll.h>
#include <termios.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>

#include <editline/readline.h>

#include "cli/command_line.hpp"

namespace claud::cli {

namespace {

/// Lines the history keeps, as bash's default HISTSIZE.
constexpr int history_lines = 1000;

// libedit calls back through plain functions: the one editor of the process keeps its completer
// here, and the candidates of the Tab being answered.
line_editor::completer active_completer;
std::vector<std::string> candidates;

char* next_candidate(const char*, int state) {
  static size_t next = 0;
  if (state == 0)
    next = 0;
  return next < candidates.size() ? strdup(candidates[next++].c_str()) : nullptr;
}

char** complete_word(const char* text, int start, int) {
  const std::string line_before{rl_line_buffer, static_cast<size_t>(start)};
  auto found = active_completer(line_before, text);
  if (!found) {
    rl_attempted_completion_over = 0; // libedit's own file name completion
    return nullptr;
  }
  rl_attempted_completion_over = 1;
  candidates = std::move(*found);
  return candidates.empty() ? nullptr : rl_completion_matches(text, next_candidate);
}

} // namespace

void line_editor::complete_with(completer complete) {
  if (!interactive_)
    return;
  active_completer = std::move(complete);
  rl_attempted_completion_function = complete_word;
}

line_editor::line_editor(std::string history_file)
    : interactive_(::isatty(STDIN_FILENO) == 1 && ::isatty(STDOUT_FILENO) == 1),
      history_file_(std::move(history_file)) {
  if (!interactive_)
    return;
  using_history();
  stifle_history(history_lines);
  if (!history_file_.empty())
    read_history(history_file_.c_str()); // none yet is the common first case
}

namespace {

/// What was typed while a command ran, the terminal still in its line mode: a whole line (the
/// terminal echoed it), an end (a Ctrl-D on an empty line), or nothing.
struct typed_ahead {
  bool any = false;
  std::optional<std::string> line; // nullopt with `any`: the end of input
};

/// Reads it before libedit takes the terminal over: Linux does not make a line typed in line mode
/// readable once the mode changes until a further key comes, so libedit waited with the line
/// unseen and a Ctrl-D after it was lost.
typed_ahead read_typed_ahead() {
  pollfd input{STDIN_FILENO, POLLIN, 0};
  if (::poll(&input, 1, 0) <= 0)
    return {};
  std::string line(max_command_line_bytes + 1, '\0');
  const auto n = ::read(STDIN_FILENO, line.data(), line.size()); // one line, in line mode
  if (n <= 0)
    return {true, std::nullopt};
  line.resize(static_cast<size_t>(n));
  if (!line.empty() && line.back() == '\n')
    line.pop_back();
  return {true, std::move(line)};
}

} // namespace

std::optional<std::string> line_editor::read(const std::string& prompt) {
  if (interactive_) {
    if (auto ahead = read_typed_ahead(); ahead.any) {
      if (ahead.line) // shown at its prompt, as if typed there
        std::fprintf(stdout, "%s%s\n", prompt.c_str(), ahead.line->c_str());
      std::fflush(stdout);
      return ahead.line;
    }
    // Out of line mode before the prompt shows, so that keys pressed as it appears reach libedit
    // as themselves (a Ctrl-D in line mode becomes a NUL byte when the mode changes); the line
    // mode comes back after, for the command the line runs.
    termios line_mode{};
    const bool saved = ::tcgetattr(STDIN_FILENO, &line_mode) == 0;
    if (saved) {
      auto keys = line_mode;
      keys.c_lflag &= ~static_cast<tcflag_t>(ICANON | ECHO);
      keys.c_cc[VMIN] = 1;
      keys.c_cc[VTIME] = 0;
      ::tcsetattr(STDIN_FILENO, TCSANOW, &keys);
    }
    char* raw = readline(prompt.c_str());
    if (saved)
      ::tcsetattr(STDIN_FILENO, TCSANOW, &line_mode);
    if (raw == nullptr)
      return std::nullopt;
    std::string line{raw};
    std::free(raw);
    return line;
  }
  std::string line;
  int c = 0;
  while ((c = std::getchar()) != EOF && c != '\n')
    if (line.size() <= max_command_line_bytes) // one byte over: the caller says it is too long
      line += static_cast<char>(c);
  if (c == EOF && line.empty())
    return std::nullopt;
  return line;
}

void line_editor::remember(const std::string& line) {
  if (!interactive_ || line.find_first_not_of(" \t") == std::string::npos
      || line == last_remembered_)
    return;
  add_history(line.c_str());
  last_remembered_ = line;
  // Kept at once, not at the end: a terminal closed (SIGHUP) or a REPL killed keeps its history.
  if (history_file_.empty() || write_history(history_file_.c_str()) == 0 || history_warned_)
    return;
  history_warned_ = true;
  std::cerr << "claud: warning: the REPL's history could not be kept in " << history_file_ << "\n";
}

std::string default_history_file() {
  std::filesystem::path dir;
  if (const char* state = std::getenv("XDG_STATE_HOME"); state != nullptr && state[0] == '/')
    dir = state;
  else if (const char* home = std::getenv("HOME"); home != nullptr && home[0] == '/')
    dir = std::filesystem::path{home} / ".local" / "state";
  else
    return {};
  dir /= "claud";
  std::error_code error;
  std::filesystem::create_directories(dir, error);
  if (error)
    return {};
  return (dir / "repl_history").string();
}

} // namespace claud::cli
