#pragma once
// The terminal the CLI may be drawing on: whether there is one, its size, and a full-screen mode
// for `claud top` (the alternate screen, keys read one at a time, restored however it ends).

#include <chrono>

namespace claud::cli {

bool is_terminal(int fd);

struct terminal_size {
  int columns = 80;
  int rows = 24;
};

/// The size of the terminal on `fd` (80x24 when it does not say).
terminal_size size_of_terminal(int fd);

/// While it lives, stdout shows the alternate screen without a cursor and stdin gives keys at
/// once, unechoed, Ctrl-C among them (so a key ends the view, not a signal). The terminal is
/// restored when it ends, and also on SIGINT, SIGTERM or SIGHUP (which then end the process as
/// before).
class full_screen {
public:
  full_screen();
  ~full_screen();
  full_screen(const full_screen&) = delete;
  full_screen& operator=(const full_screen&) = delete;

  /// Whether a key was pressed within `wait` (it is consumed), or the input ended (a hang-up).
  bool key_pressed(std::chrono::milliseconds wait);
  /// Whether the terminal was resized since the last call.
  bool resized();
};

} // namespace claud::cli
