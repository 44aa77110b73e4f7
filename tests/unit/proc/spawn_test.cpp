#include "proc/spawn.hpp"

#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <climits>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>

#include <catch2/catch.hpp>

#include "proc/job_identity.hpp"
#include "test_support.hpp"

using claud::unique_fd;
using namespace claud::proc;
using namespace claud::proc::test;

namespace {

// Runs `request` to completion (bounded) and returns how it ended.
exit_status run(const spawn_request& request) {
  child_guard guard;
  pid_t pid = guard.add(spawn_process(request));
  auto status = wait_and_reap(pid);
  REQUIRE(status.has_value());
  return *status;
}

std::string spawn_error_text(const spawn_request& request) {
  child_guard guard;
  try {
    guard.add(spawn_process(request));
  } catch (const spawn_error& error) {
    return error.what();
  }
  FAIL("spawn_process did not throw");
  return {};
}

struct test_pipe {
  unique_fd read_end;
  unique_fd write_end;
};

test_pipe make_pipe() {
  int fds[2];
  REQUIRE(::pipe2(fds, O_CLOEXEC) == 0);
  test_pipe pipe{unique_fd{fds[0]}, unique_fd{fds[1]}};
  REQUIRE(pipe.write_end.get() > STDERR_FILENO); // 0, 1 and 2 are open in a test
  return pipe;
}

// Restores the test thread's signal mask and one signal's disposition when a test ends.
class signal_state_guard {
public:
  explicit signal_state_guard(int signal) : signal_(signal) {
    ::pthread_sigmask(SIG_SETMASK, nullptr, &saved_mask_);
    ::sigaction(signal_, nullptr, &saved_action_);
  }
  ~signal_state_guard() {
    ::sigaction(signal_, &saved_action_, nullptr);
    ::pthread_sigmask(SIG_SETMASK, &saved_mask_, nullptr);
  }

private:
  int signal_;
  sigset_t saved_mask_;
  struct sigaction saved_action_;
};

} // namespace

TEST_CASE("echo's output lands in the stdout file", "[proc][spawn]") {
  scratch_dir dir;
  auto status = run(request_in(dir, {"echo", "hello", "world"}));
  CHECK(status.exited);
  CHECK(status.code == 0);
  CHECK(read_file(dir.file("stdout")) == "hello world\n");
  CHECK(read_file(dir.file("stderr")).empty());
}

TEST_CASE("stdout and stderr go to separate files", "[proc][spawn]") {
  scratch_dir dir;
  auto status = run(request_in(dir, {"sh", "-c", "echo out; echo err >&2"}));
  CHECK(status.code == 0);
  CHECK(read_file(dir.file("stdout")) == "out\n");
  CHECK(read_file(dir.file("stderr")) == "err\n");
}

TEST_CASE("one path for both streams keeps them in order in one file", "[proc][spawn]") {
  scratch_dir dir;
  auto request = request_in(dir, {"sh", "-c", "echo one; echo two >&2; echo three"});
  request.stderr_path = request.stdout_path;
  CHECK(run(request).code == 0);
  CHECK(read_file(dir.file("stdout")) == "one\ntwo\nthree\n");
}

TEST_CASE("output files are truncated and created with mode 0644", "[proc][spawn]") {
  scratch_dir dir;
  write_file(dir.file("stdout"), "old content that is longer than the new one\n", 0600);
  CHECK(run(request_in(dir, {"echo", "new"})).code == 0);
  CHECK(read_file(dir.file("stdout")) == "new\n");
  mode_t umask_now = ::umask(022);
  ::umask(umask_now);
  struct stat info;
  REQUIRE(::stat(dir.file("stderr").c_str(), &info) == 0);
  CHECK((info.st_mode & 0777) == (0644 & ~umask_now));
}

TEST_CASE("the exit code is reported", "[proc][spawn]") {
  scratch_dir dir;
  auto status = run(request_in(dir, {"sh", "-c", "exit 3"}));
  CHECK(status.exited);
  CHECK(status.code == 3);
}

TEST_CASE("stdin is /dev/null", "[proc][spawn]") {
  scratch_dir dir;
  // cat would wait forever on an inherited terminal or pipe; on /dev/null it ends at once.
  CHECK(run(request_in(dir, {"cat"})).code == 0);
  CHECK(read_file(dir.file("stdout")).empty());
}

TEST_CASE("stdin_path is read as the job's standard input", "[proc][spawn]") {
  scratch_dir dir;
  write_file(dir.file("input"), "line one\nline two\n", 0644);
  auto request = request_in(dir, {"cat"});
  request.stdin_path = dir.file("input");
  CHECK(run(request).code == 0);
  CHECK(read_file(dir.file("stdout")) == "line one\nline two\n");
}

TEST_CASE("a stdin_path that is missing or a directory fails the start, saying so",
          "[proc][spawn]") {
  scratch_dir dir;
  auto request = request_in(dir, {"cat"});
  request.stdin_path = dir.file("no-such-input");
  CHECK(spawn_error_text(request)
        == "cannot start job: cannot read " + request.stdin_path
               + " as its standard input (No such file or directory)");
  request.stdin_path = dir.path();
  CHECK(spawn_error_text(request)
        == "cannot start job: cannot read " + dir.path()
               + " as its standard input (Is a directory)");
}

TEST_CASE("a FIFO as stdin_path with no writer does not hold up the spawn", "[proc][spawn]") {
  scratch_dir dir;
  REQUIRE(::mkfifo(dir.file("fifo").c_str(), 0644) == 0);
  auto request = request_in(dir, {"cat"});
  request.stdin_path = dir.file("fifo");
  CHECK(run(request).code == 0); // no writer: end of file at once
}

TEST_CASE("stdin_path is opened as the job's user, not the slave's", "[proc][spawn]") {
  if (::geteuid() != 0) {
    WARN("not root: a job cannot run as another user here, nothing to check");
    return;
  }
  scratch_dir dir;
  write_file(dir.file("secret"), "root only\n", 0600);
  auto nobody = claud::proc::resolve_job_identity("nobody");
  REQUIRE(nobody);
  ::chmod(dir.path().c_str(), 0777); // only the file's own mode stands in the way
  auto request = request_in(dir, {"cat"});
  request.identity = &*nobody;
  request.stdin_path = dir.file("secret");
  CHECK(spawn_error_text(request)
        == "cannot start job: cannot read " + request.stdin_path
               + " as its standard input (Permission denied)");
}

TEST_CASE("working_dir sets the current directory, also for a relative command", "[proc][spawn]") {
  scratch_dir dir;
  scratch_dir work;
  write_file(work.file("where.sh"), "#!/bin/sh\npwd -P\n", 0755);
  auto request = request_in(dir, {"./where.sh"});
  request.working_dir = work.path();
  CHECK(run(request).code == 0);
  char resolved[PATH_MAX];
  REQUIRE(::realpath(work.path().c_str(), resolved) != nullptr);
  CHECK(read_file(dir.file("stdout")) == std::string{resolved} + "\n");
}

TEST_CASE("environment sets variables over the parent's, the last of a name winning",
          "[proc][spawn]") {
  scratch_dir dir;
  ::setenv("CLAUD_SPAWN_TEST_KEPT", "parent", 1);
  ::setenv("CLAUD_SPAWN_TEST_SET", "parent", 1);
  auto request
      = request_in(dir, {"sh", "-c",
                         "echo \"$CLAUD_SPAWN_TEST_KEPT $CLAUD_SPAWN_TEST_SET "
                         "$CLAUD_SPAWN_TEST_NEW\"; env | grep -c '^CLAUD_SPAWN_TEST_SET='"});
  request.environment
      = {"CLAUD_SPAWN_TEST_SET=first", "CLAUD_SPAWN_TEST_NEW=a=b", "CLAUD_SPAWN_TEST_SET=job"};
  CHECK(run(request).code == 0);
  ::unsetenv("CLAUD_SPAWN_TEST_KEPT");
  ::unsetenv("CLAUD_SPAWN_TEST_SET");
  CHECK(read_file(dir.file("stdout")) == "parent job a=b\n1\n");
}

TEST_CASE("the child leads its own process group", "[proc][spawn]") {
  scratch_dir dir;
  child_guard guard;
  pid_t pid = guard.add(spawn_process(request_in(dir, {"sleep", "100"})));
  CHECK(::getpgid(pid) == pid);
  CHECK(::getpgid(pid) != ::getpgrp());
  CHECK(signal_process_group(pid, SIGKILL));
  auto status = wait_and_reap(pid);
  REQUIRE(status.has_value());
  CHECK_FALSE(status->exited);
  CHECK(status->signal == SIGKILL);
}

TEST_CASE("blocked and ignored signals of the parent do not reach the child", "[proc][spawn]") {
  scratch_dir dir;
  int signal = GENERATE(SIGINT, SIGTERM);
  signal_state_guard restore{signal};
  sigset_t blocked;
  sigemptyset(&blocked);
  sigaddset(&blocked, signal);
  REQUIRE(::pthread_sigmask(SIG_BLOCK, &blocked, nullptr) == 0);
  struct sigaction ignore;
  std::memset(&ignore, 0, sizeof(ignore));
  ignore.sa_handler = SIG_IGN;
  REQUIRE(::sigaction(signal, &ignore, nullptr) == 0);

  child_guard guard;
  pid_t pid = guard.add(spawn_process(request_in(dir, {"sleep", "100"})));
  CHECK(signal_process_group(pid, signal));
  // Were the mask or SIG_IGN inherited, sleep would live on and the bounded wait would fail.
  auto status = wait_and_reap(pid);
  REQUIRE(status.has_value());
  CHECK_FALSE(status->exited);
  CHECK(status->signal == signal);
}

TEST_CASE("descriptors of the parent are not inherited", "[proc][spawn]") {
  scratch_dir dir;
  constexpr int leaked_fd = 100;
  unique_fd plain{::open("/dev/null", O_RDONLY)}; // deliberately without O_CLOEXEC
  REQUIRE(plain.valid());
  unique_fd high{::dup2(plain.get(), leaked_fd)};
  REQUIRE(high.get() == leaked_fd);
  auto script = "if [ -e /proc/$$/fd/" + std::to_string(leaked_fd) + " ]; then exit 1; fi";
  CHECK(run(request_in(dir, {"sh", "-c", script})).code == 0);
}

TEST_CASE("a missing command is reported by spawn_process", "[proc][spawn]") {
  scratch_dir dir;
  auto text = spawn_error_text(request_in(dir, {"nosuchcmd-claud-test", "arg"}));
  CHECK(text == "cannot start job: command 'nosuchcmd-claud-test' not found in PATH");
}

TEST_CASE("a missing command given by path is reported without PATH", "[proc][spawn]") {
  scratch_dir dir;
  auto command = dir.file("absent");
  CHECK(spawn_error_text(request_in(dir, {command}))
        == "cannot start job: command '" + command + "' not found");
}

TEST_CASE("a file without execute permission is reported", "[proc][spawn]") {
  scratch_dir dir;
  auto command = dir.file("not-executable");
  write_file(command, "#!/bin/sh\necho hi\n", 0644);
  CHECK(spawn_error_text(request_in(dir, {command}))
        == "cannot start job: '" + command + "' is not executable (Permission denied)");
}

TEST_CASE("a script without #! line is reported", "[proc][spawn]") {
  scratch_dir dir;
  auto command = dir.file("no-shebang");
  write_file(command, "echo hi\n", 0755);
  auto text = spawn_error_text(request_in(dir, {command}));
  CHECK_THAT(text, Catch::Contains(command) && Catch::Contains("'#!' line"));
}

TEST_CASE("a script whose interpreter is missing is not called a missing command",
          "[proc][spawn]") {
  scratch_dir dir;
  auto command = dir.file("bad-interpreter");
  write_file(command, "#!/nonexistent/claud-interpreter\n", 0755);
  auto text = spawn_error_text(request_in(dir, {command}));
  CHECK_THAT(text, Catch::Contains(command) && Catch::Contains("interpreter"));
}

TEST_CASE("an output file that cannot be opened is reported", "[proc][spawn]") {
  scratch_dir dir;
  auto request = request_in(dir, {"true"});
  request.stdout_path = dir.file("no-such-dir/stdout");
  CHECK(spawn_error_text(request)
        == "cannot open output file " + request.stdout_path + " (No such file or directory)");
  request = request_in(dir, {"true"});
  request.stderr_path = dir.file("no-such-dir/stderr");
  CHECK(spawn_error_text(request)
        == "cannot open output file " + request.stderr_path + " (No such file or directory)");
}

TEST_CASE("a missing working directory is reported", "[proc][spawn]") {
  scratch_dir dir;
  auto request = request_in(dir, {"true"});
  request.working_dir = dir.file("no-such-dir");
  CHECK(spawn_error_text(request)
        == "cannot start job: working directory " + request.working_dir
               + " cannot be used (No such file or directory)");
}

TEST_CASE("programmer errors in the request are rejected", "[proc][spawn]") {
  scratch_dir dir;
  CHECK_THROWS_AS(spawn_process(request_in(dir, {})), std::invalid_argument);
  CHECK_THROWS_AS(spawn_process(request_in(dir, {""})), std::invalid_argument);
  auto request = request_in(dir, {"true"});
  request.stdout_path.clear();
  CHECK_THROWS_AS(spawn_process(request), std::invalid_argument);
  request = request_in(dir, {"true"});
  request.stderr_path.clear();
  CHECK_THROWS_AS(spawn_process(request), std::invalid_argument);
}

TEST_CASE("stdout and stderr can go to descriptors instead of files", "[proc][spawn]") {
  scratch_dir dir;
  child_guard guard;
  auto out = make_pipe();
  auto err = make_pipe();
  auto request = request_in(dir, {"sh", "-c", "echo out1; echo err >&2; echo out2"});

  SECTION("one descriptor per stream") {
    request.stdout_path.clear();
    request.stderr_path.clear();
    request.stdout_fd = out.write_end.get();
    request.stderr_fd = err.write_end.get();
    pid_t pid = guard.add(spawn_process(request));
    // The child holds its own copies; the pipes end when it exits.
    out.write_end.reset();
    err.write_end.reset();
    CHECK(read_until_end(out.read_end.get()) == std::optional<std::string>{"out1\nout2\n"});
    CHECK(read_until_end(err.read_end.get()) == std::optional<std::string>{"err\n"});
    auto status = wait_and_reap(pid);
    REQUIRE(status.has_value());
    CHECK(status->code == 0);
  }

  SECTION("one descriptor for both streams keeps their order") {
    request.stdout_fd = out.write_end.get();
    request.stderr_fd = out.write_end.get();
    pid_t pid = guard.add(spawn_process(request));
    out.write_end.reset();
    CHECK(read_until_end(out.read_end.get()) == std::optional<std::string>{"out1\nerr\nout2\n"});
    REQUIRE(wait_and_reap(pid).has_value());
  }

  SECTION("a descriptor for stdout and a path for stderr") {
    request.stdout_path.clear();
    request.stdout_fd = out.write_end.get();
    pid_t pid = guard.add(spawn_process(request));
    out.write_end.reset();
    CHECK(read_until_end(out.read_end.get()) == std::optional<std::string>{"out1\nout2\n"});
    REQUIRE(wait_and_reap(pid).has_value());
    CHECK(read_file(dir.file("stderr")) == "err\n");
  }

  // A descriptor wins over a path: the path's file is not even created.
  CHECK_FALSE(std::filesystem::exists(dir.file("stdout")));
}

TEST_CASE("an output descriptor of 0, 1 or 2 is a programmer error", "[proc][spawn]") {
  scratch_dir dir;
  int low_fd = GENERATE(0, 1, 2);
  auto request = request_in(dir, {"true"});
  request.stdout_fd = low_fd;
  CHECK_THROWS_AS(spawn_process(request), std::invalid_argument);
  request = request_in(dir, {"true"});
  request.stderr_fd = low_fd;
  CHECK_THROWS_AS(spawn_process(request), std::invalid_argument);
  request.stderr_path.clear();
  CHECK_THROWS_AS(spawn_process(request), std::invalid_argument);
}

TEST_CASE("signalling a group that is gone returns false", "[proc][spawn]") {
  scratch_dir dir;
  child_guard guard;
  pid_t pid = guard.add(spawn_process(request_in(dir, {"true"})));
  REQUIRE(wait_and_reap(pid).has_value());
  CHECK_FALSE(signal_process_group(pid, SIGTERM));
}

TEST_CASE("signalling pid 0, 1 or a negative pid is refused", "[proc][spawn]") {
  // kill(-0) would hit the caller's own group and kill(-1) every process: never let them through.
  CHECK_THROWS_AS(signal_process_group(0, 0), std::invalid_argument);
  CHECK_THROWS_AS(signal_process_group(1, 0), std::invalid_argument);
  CHECK_THROWS_AS(signal_process_group(-5, 0), std::invalid_argument);
}

TEST_CASE("a cgroup the child cannot join fails the start with that reason") {
  scratch_dir dir;
  unique_fd read_only{::open("/dev/null", O_RDONLY | O_CLOEXEC)};
  auto request = request_in(dir, {"true"});
  request.join_cgroups.push_back(read_only.get());
  CHECK_THAT(spawn_error_text(request),
             Catch::StartsWith("cannot start job: cannot move it into its cgroup"));
}

TEST_CASE("a raised descriptor limit is the slave's own: jobs start with the limit it had before",
          "[proc][spawn]") {
  rlimit original{};
  REQUIRE(::getrlimit(RLIMIT_NOFILE, &original) == 0);
  if (original.rlim_max < 512) {
    WARN("not checked: the hard limit on open files is below 512 here");
    return;
  }
  // A soft limit below the hard one, as systemd gives services (1,024 of 524,288).
  rlimit lowered{256, original.rlim_max};
  REQUIRE(::setrlimit(RLIMIT_NOFILE, &lowered) == 0);

  CHECK(raise_descriptor_limit() == original.rlim_max);
  rlimit now{};
  REQUIRE(::getrlimit(RLIMIT_NOFILE, &now) == 0);
  CHECK(now.rlim_cur == original.rlim_max);
  scratch_dir dir;
  auto status = run(request_in(dir, {"sh", "-c", "ulimit -n"}));
  CHECK(status.code == 0);
  CHECK(read_file(dir.file("stdout")) == "256\n");
  CHECK(raise_descriptor_limit() == original.rlim_max); // raised already: changes nothing
  ::setrlimit(RLIMIT_NOFILE, &original);
}
