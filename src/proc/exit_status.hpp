#pragma once

#include <string>

namespace claud::proc {

// How a job's process ended, decoded from a waitpid() status once so that nothing else in claud
// needs the W* macros.
struct exit_status {
  bool exited = false; // true: normal exit with `code`; false: ended by `signal`
  int code = 0;
  int signal = 0;

  // Decodes the status of a process that has ended (waitpid without WUNTRACED/WCONTINUED).
  // A stopped or continued status is a programmer error: throws std::invalid_argument.
  static exit_status from_wait_status(int wait_status);

  // "exit code 3" or "killed by signal 9 (SIGKILL)": the phrase users see in `claud job show`.
  std::string describe() const;
};

} // namespace claud::proc
