#include "proc/exit_status.hpp"

#include <sys/wait.h>

#include <cstring>
#include <stdexcept>

#include <fmt/format.h>

namespace claud::proc {

exit_status exit_status::from_wait_status(int wait_status) {
  exit_status result;
  if (WIFEXITED(wait_status)) {
    result.exited = true;
    result.code = WEXITSTATUS(wait_status);
  } else if (WIFSIGNALED(wait_status)) {
    result.signal = WTERMSIG(wait_status);
  } else {
    throw std::invalid_argument(
        fmt::format("wait status {:#x} is not the status of an ended process", wait_status));
  }
  return result;
}

namespace {

// sigabbrev_np knows only the classic signals ("KILL"); strsignal also names real-time ones.
std::string signal_name(int signal) {
  if (const char* abbrev = ::sigabbrev_np(signal))
    return fmt::format("SIG{}", abbrev);
  return ::strsignal(signal);
}

} // namespace

std::string exit_status::describe() const {
  if (exited)
    return fmt::format("exit code {}", code);
  return fmt::format("killed by signal {} ({})", signal, signal_name(signal));
}

} // namespace claud::proc
