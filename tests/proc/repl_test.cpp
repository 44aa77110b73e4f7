// `claud repl` fed a file of commands (not a terminal): no prompt, each command's output as the
// CLI prints it, mistakes reported without ending the session, and the exit code of the last
// command that failed.

#include <poll.h>
#include <pty.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>

#include <catch2/catch.hpp>

#include "cluster.hpp"

using namespace claud::test;

namespace {

/// `claud repl --cluster ADDRESS < script`, bounded in time.
run_result run_repl(const cluster& c, const std::string& address, const std::string& script) {
  const auto file = c.root() + "/commands.txt";
  std::ofstream{file} << script;
  return run_process({"/bin/sh", "-c", "exec \"$0\" repl --cluster \"$1\" < \"$2\"",
                      cluster::binary(), address, file},
                     20s);
}

/// `claud repl` on a pseudo-terminal, driven as a person types; killed by its PID at the end.
class terminal_session {
public:
  terminal_session(const std::string& address, const std::string& home) {
    pid_ = ::forkpty(&fd_, nullptr, nullptr, nullptr);
    REQUIRE(pid_ >= 0);
    if (pid_ == 0) {
      ::setenv("HOME", home.c_str(), 1);
      ::unsetenv("XDG_STATE_HOME");
      ::execl(cluster::binary().c_str(), "claud", "repl", "--cluster", address.c_str(), nullptr);
      ::_exit(127);
    }
  }
  ~terminal_session() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    ::close(fd_);
  }
  void type(const std::string& keys) {
    REQUIRE(::write(fd_, keys.data(), keys.size()) == static_cast<ssize_t>(keys.size()));
  }
  /// Reads the screen's output until it holds `text` (then returns what was read through it) or
  /// 20 s pass (a command that retries through an election under the suite's load may take 10).
  std::string read_until(const std::string& text) {
    const auto deadline = std::chrono::steady_clock::now() + 20s;
    while (screen_.find(text) == std::string::npos && std::chrono::steady_clock::now() < deadline) {
      pollfd ready{fd_, POLLIN, 0};
      if (::poll(&ready, 1, 100) <= 0)
        continue;
      char buffer[4096];
      const auto n = ::read(fd_, buffer, sizeof buffer);
      if (n <= 0)
        break;
      screen_.append(buffer, static_cast<size_t>(n));
    }
    INFO("waiting for \"" << text << "\"; the terminal so far: " << screen_);
    const auto at = screen_.find(text);
    REQUIRE(at != std::string::npos);
    // What came after it stays for the next read: prompts and output are matched in order.
    auto upto = screen_.substr(0, at + text.size());
    screen_.erase(0, at + text.size());
    return upto;
  }
  /// Ctrl-D, then its exit status.
  int end() {
    type("\x04");
    int status = 0;
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (::waitpid(pid_, &status, WNOHANG) == 0) {
      if (std::chrono::steady_clock::now() > deadline)
        return -1; // still running: the destructor kills it
      ::poll(nullptr, 0, 20);
    }
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }

private:
  pid_t pid_ = -1;
  int fd_ = -1;
  std::string screen_;
};

} // namespace

TEST_CASE("on a terminal the prompt names the leader, says when it changes, and history stays") {
  cluster c;
  c.start_masters({"m1", "m2", "m3"});
  c.start_slave("s1", "1", "1G");
  const auto home = c.root() + "/home";
  const auto leader = c.leader_name();
  {
    terminal_session repl{c.cluster_address(), home};
    repl.read_until("claud " + leader + "> ");
    repl.type("submit --name first -- true\r");
    repl.read_until("claud " + leader + "> ");
    repl.type("sta\t");      // the command, then (Tab) the one job's id
    repl.read_until("tus "); // libedit redraws only what it added to "sta"
    repl.type("\t");
    repl.read_until("1 ");
    repl.type("\r");
    repl.read_until("name:        first");
    repl.read_until("> ");
    c.wait_masters_in_sync();
    c.kill(leader, SIGKILL);
    c.leader_other_than(leader);
    repl.type("jobs\r"); // the command in flight goes to the new leader, as the CLI's would
    auto after = repl.read_until("claud: the leader is now ");
    CHECK(after.find("first") != std::string::npos);
    // Ctrl-C ends the command that follows a job, not the session.
    auto endless = c.submit({"sh", "-c", "echo started; exec sleep 60"});
    c.wait_job_state(endless, "running");
    repl.type("logs -f " + endless + "\r");
    repl.read_until("started");
    repl.type("\x03");
    repl.read_until("> ");
    repl.type("status " + endless + "\r");
    repl.read_until("state:       running");
    repl.type("nosuch\r"); // typed ahead, maybe: the prompt may not be back yet
    repl.read_until("no command 'nosuch'");
    repl.read_until("> ");
    CHECK(repl.end() == 0);
  }
  terminal_session again{c.cluster_address(), home};
  again.read_until("> ");
  again.type("\x1b[A\x1b[A\x1b[A\x1b[A\r"); // the `jobs` line, four before the last session's end
  auto recalled = again.read_until("succeeded");
  CHECK(recalled.find("jobs") != std::string::npos);
}

TEST_CASE("watch jobs redraws as a job ends and a key ends it; a long wait shows its progress") {
  cluster c;
  c.start_dev("d");
  terminal_session repl{c.address("d"), c.root() + "/home"};
  repl.read_until("> ");
  // Jobs that run until the test says: each screen is seen for sure, whatever the load.
  const auto release = c.root() + "/release";
  const std::vector<std::string> held{"sh", "-c", "while [ ! -e \"$0\" ]; do sleep 0.05; done",
                                      release};
  auto first = c.submit(held);
  c.wait_job_state(first, "running");
  repl.type("watch jobs\r");
  repl.read_until("jobs: 1 running, 0 pending | index ");
  std::ofstream{release} << "";
  repl.read_until("jobs: 0 running, 0 pending; ended since: 1 succeeded"); // redrawn at its end
  repl.type("q");
  repl.read_until("> ");
  std::filesystem::remove(release);
  // A wait past a second: the bar says what the job is doing, then the wait's own line.
  auto second = c.submit(held);
  repl.type("wait " + second + "\r");
  repl.read_until("job " + second + ": running");
  std::ofstream{release} << "";
  repl.read_until(second + " succeeded");
  repl.read_until("> ");
  repl.type("watch nodes\r");
  repl.read_until("nodes: 1 alive");
  repl.type("\x03"); // Ctrl-C is a key like any other there
  repl.read_until("> ");
  CHECK(repl.end() == 0);
}

TEST_CASE("a script of commands runs each one, and bad lines do not end it") {
  cluster c;
  c.start_dev("d");
  auto r = run_repl(c, c.address("d"),
                    "submit --wait --name greet -- sh -c 'echo \"hi there\"'\n"
                    "# a comment, then a blank line\n"
                    "\n"
                    "nosuchcommand 1\n"
                    "status 'unclosed\n"
                    "submit --cpus lots -- true\n"
                    "logs 1\n"
                    "status 1 --json\n");
  INFO(r.out << r.err);
  REQUIRE_FALSE(r.timed_out);
  CHECK(r.exit_code == 1); // the last failure: --cpus lots (2 is a line that does not parse)
  CHECK(r.out.find("claud>") == std::string::npos); // no prompt when piped
  CHECK(r.out.rfind("1\n", 0) == 0);                // submit's id, as the CLI prints it
  CHECK(r.out.find("hi there\n") != std::string::npos);
  CHECK(r.out.find("\"name\":\"greet\"") != std::string::npos);
  CHECK(r.err.find("no command 'nosuchcommand'; the commands are submit, run,")
        != std::string::npos);
  CHECK(r.err.find("a single quote (') is not closed") != std::string::npos);
  CHECK(r.err.find("--cpus 'lots' is not a valid CPU count") != std::string::npos);
}

TEST_CASE("a malformed flag names its command's help, and the exit code is the last failure's") {
  cluster c;
  c.start_dev("d");
  auto r = run_repl(c, c.address("d"), "status --bogus 1\nhelp status\nexit\njobs\n");
  INFO(r.out << r.err);
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("`help status` shows its flags") != std::string::npos);
  CHECK(r.out.find("Usage: status [OPTIONS] job") != std::string::npos);
  CHECK(r.out.find("ID ") == std::string::npos); // exit ended the session before `jobs`

  auto clean = run_repl(c, c.address("d"), "jobs\nnodes --json\n");
  CHECK(clean.exit_code == 0);
  CHECK(clean.out.find("\"role\":\"dev\"") != std::string::npos);
}
