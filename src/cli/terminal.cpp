#include "cli/terminal.hpp"

#include <poll.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstring>

namespace claud::cli {

namespace {

constexpr const char enter_sequence[] = "\x1b[?1049h\x1b[?25l"; // alternate screen, no cursor
constexpr const char leave_sequence[] = "\x1b[?25h\x1b[?1049l";

// What the signal handlers restore: one full_screen lives at a time.
termios saved_input{};
bool input_saved = false;
std::atomic<bool> was_resized{false};
struct sigaction previous_int {
}, previous_term{}, previous_hup{}, previous_winch{};

void restore_terminal() {
  if (input_saved)
    ::tcsetattr(STDIN_FILENO, TCSANOW, &saved_input);
  [[maybe_unused]] auto written = ::write(STDOUT_FILENO, leave_sequence, sizeof leave_sequence - 1);
}

/// SIGINT, SIGTERM, SIGHUP: the terminal back as it was, then the signal's own end
/// (async-signal-safe).
void restore_and_end(int signal) {
  restore_terminal();
  ::signal(signal, SIG_DFL);
  ::raise(signal);
}

void note_resize(int) {
  was_resized = true;
}

void handle(int signal, void (*handler)(int), struct sigaction* previous) {
  struct sigaction action {};
  action.sa_handler = handler;
  action.sa_flags = SA_RESTART; // a resize does not cut a write short
  sigemptyset(&action.sa_mask);
  ::sigaction(signal, &action, previous);
}

} // namespace

bool is_terminal(int fd) {
  return ::isatty(fd) == 1;
}

terminal_size size_of_terminal(int fd) {
  winsize size{};
  terminal_size out;
  if (::ioctl(fd, TIOCGWINSZ, &size) == 0 && size.ws_col > 0 && size.ws_row > 0) {
    out.columns = size.ws_col;
    out.rows = size.ws_row;
  }
  return out;
}

full_screen::full_screen() {
  input_saved = ::tcgetattr(STDIN_FILENO, &saved_input) == 0;
  if (input_saved) {
    auto keys = saved_input;
    keys.c_lflag &= ~static_cast<tcflag_t>(ICANON | ECHO | ISIG | IEXTEN);
    keys.c_iflag &= ~static_cast<tcflag_t>(IXON); // Ctrl-S is a key, not a stop of the output
    keys.c_cc[VMIN] = 1;
    keys.c_cc[VTIME] = 0;
    ::tcsetattr(STDIN_FILENO, TCSANOW, &keys);
  }
  handle(SIGINT, restore_and_end, &previous_int); // a kill -INT: the terminal's Ctrl-C is a key
  handle(SIGTERM, restore_and_end, &previous_term);
  handle(SIGHUP, restore_and_end, &previous_hup);
  handle(SIGWINCH, note_resize, &previous_winch);
  [[maybe_unused]] auto written = ::write(STDOUT_FILENO, enter_sequence, sizeof enter_sequence - 1);
}

full_screen::~full_screen() {
  restore_terminal();
  ::sigaction(SIGINT, &previous_int, nullptr);
  ::sigaction(SIGTERM, &previous_term, nullptr);
  ::sigaction(SIGHUP, &previous_hup, nullptr);
  ::sigaction(SIGWINCH, &previous_winch, nullptr);
  input_saved = false;
}

bool full_screen::key_pressed(std::chrono::milliseconds wait) {
  pollfd input{STDIN_FILENO, POLLIN, 0};
  if (::poll(&input, 1, static_cast<int>(wait.count())) <= 0)
    return false;
  char keys[64];
  [[maybe_unused]] auto got = ::read(STDIN_FILENO, keys, sizeof keys); // 0 or less: input ended
  return true;
}

bool full_screen::resized() {
  return was_resized.exchange(false);
}

} // namespace claud::cli
