#include "proc/exit_status.hpp"

#include <signal.h>
#include <sys/wait.h>

#include <stdexcept>
#include <string>

#include <catch2/catch.hpp>

using claud::proc::exit_status;

TEST_CASE("a normal exit keeps its code", "[proc][exit_status]") {
  auto status = exit_status::from_wait_status(W_EXITCODE(3, 0));
  CHECK(status.exited);
  CHECK(status.code == 3);
  CHECK(status.signal == 0);
  CHECK(status.describe() == "exit code 3");
}

TEST_CASE("exit codes 0 and 255 are decoded as such", "[proc][exit_status]") {
  CHECK(exit_status::from_wait_status(W_EXITCODE(0, 0)).describe() == "exit code 0");
  auto status = exit_status::from_wait_status(W_EXITCODE(255, 0));
  CHECK(status.exited);
  CHECK(status.code == 255);
}

TEST_CASE("a signal death names the signal", "[proc][exit_status]") {
  auto status = exit_status::from_wait_status(W_EXITCODE(0, SIGKILL));
  CHECK_FALSE(status.exited);
  CHECK(status.signal == SIGKILL);
  CHECK(status.code == 0);
  CHECK(status.describe() == "killed by signal 9 (SIGKILL)");
  CHECK(exit_status::from_wait_status(W_EXITCODE(0, SIGTERM)).describe()
        == "killed by signal 15 (SIGTERM)");
}

TEST_CASE("a core dump still reports the signal", "[proc][exit_status]") {
  auto status = exit_status::from_wait_status(W_EXITCODE(0, SIGSEGV) | WCOREFLAG);
  CHECK_FALSE(status.exited);
  CHECK(status.signal == SIGSEGV);
  CHECK(status.describe() == "killed by signal 11 (SIGSEGV)");
}

TEST_CASE("a real-time signal gets a readable name", "[proc][exit_status]") {
  int signal = SIGRTMIN + 1;
  auto text = exit_status::from_wait_status(W_EXITCODE(0, signal)).describe();
  CHECK(text.rfind("killed by signal " + std::to_string(signal) + " (", 0) == 0);
  CHECK(text.back() == ')');
  CHECK(text.size() > std::string{"killed by signal NN ()"}.size());
}

TEST_CASE("a stopped status is rejected", "[proc][exit_status]") {
  CHECK_THROWS_AS(exit_status::from_wait_status(W_STOPCODE(SIGSTOP)), std::invalid_argument);
}
