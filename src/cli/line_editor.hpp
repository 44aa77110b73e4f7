#pragma once
// Where the REPL's lines come from: a terminal, with line editing and a history kept across
// sessions (libedit, BSD-licensed, through its readline interface), or a pipe or file, read
// plainly with a bound on each line.

#include <cstdio>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace claud::cli {

class line_editor {
public:
  /// Interactive when both stdin and stdout are terminals: then lines are edited, and the
  /// history is read from and kept in `history_file` ("" for none).
  explicit line_editor(std::string history_file);
  line_editor(const line_editor&) = delete;
  line_editor& operator=(const line_editor&) = delete;

  bool interactive() const {
    return interactive_;
  }
  /// The next line (without its newline), or nullopt at the end of input (Ctrl-D). A line
  /// longer than max_command_line_bytes comes back whole for the caller to refuse: reading it
  /// costs at most that bound more (the rest is skipped).
  std::optional<std::string> read(const std::string& prompt);
  /// Keeps `line` in the history (interactive only; blank lines and repeats are not kept).
  void remember(const std::string& line);

  /// Tab's candidates for `word`, the word under the cursor, given the line before it; nullopt:
  /// complete a file name.
  using completer = std::function<std::optional<std::vector<std::string>>(
      const std::string& line_before, const std::string& word)>;
  /// Tab completes with `complete` (interactive only).
  void complete_with(completer complete);

private:
  bool interactive_;
  std::string history_file_;
  std::string last_remembered_;
  bool history_warned_ = false; // its file could not be written: said once
};

/// $XDG_STATE_HOME/claud/repl_history, else ~/.local/state/claud/repl_history; "" without a
/// home. Its directory is made if missing.
std::string default_history_file();

} // namespace claud::cli
