// output_pump when things go wrong, with real pipes and files: a writer never blocks on a file that
// cannot be stored, each such stream is reported once in one line, and destruction is prompt and
// silent.
#include "output_pump_support.hpp"

using namespace claud::proc;
using namespace claud::proc::test;

TEST_CASE("a file that cannot be created drains the stream and reports one line naming it",
          "[proc][output_pump]") {
  scratch_dir dir;
  drain_recorder recorder;
  output_pump pump{into(recorder)};
  auto pipe = make_output_pipe();
  auto path = dir.file("no-such-dir/stdout");
  pump.add(std::move(pipe.read_end), path, 9);

  // Far more than the pipe holds: were the bytes not read and dropped, this write would block.
  CHECK(write_all(pipe.write_end.get(), std::string(4 * 1024 * 1024, 'x')));
  pipe.write_end.reset();
  REQUIRE(recorder.wait_for(1));
  auto call = recorder.only_call();
  CHECK(call.token == 9);
  CHECK(call.error == "cannot create " + path + " (No such file or directory)");
  CHECK(call.error.find('\n') == std::string::npos);
  CHECK_FALSE(exists(dir.file("no-such-dir")));
  CHECK(pump.open_streams() == 0);
}

TEST_CASE("a file that cannot be written (full disk) drains the stream and reports it",
          "[proc][output_pump]") {
  // /dev/full accepts the open and fails every write with ENOSPC, as a full disk does.
  if (::access("/dev/full", W_OK) != 0) {
    WARN("no writable /dev/full: not tested");
    return;
  }
  drain_recorder recorder;
  output_pump pump{into(recorder)};
  auto pipe = make_output_pipe();
  pump.add(std::move(pipe.read_end), "/dev/full", 11);
  CHECK(write_all(pipe.write_end.get(), std::string(1024 * 1024, 'y')));
  pipe.write_end.reset();
  REQUIRE(recorder.wait_for(1));
  auto call = recorder.only_call();
  CHECK(call.token == 11);
  CHECK(call.error == "cannot write /dev/full (No space left on device)");
}

TEST_CASE("destroying the pump with a stream open returns promptly without a callback",
          "[proc][output_pump]") {
  scratch_dir dir;
  drain_recorder recorder;
  auto pump = std::make_unique<output_pump>(into(recorder));
  auto pipe = make_output_pipe();
  auto idle = make_output_pipe();
  pump->add(std::move(pipe.read_end), dir.file("stdout"), 1);
  pump->add(std::move(idle.read_end), dir.file("idle"), 2);
  REQUIRE(write_all(pipe.write_end.get(), "partial"));
  REQUIRE(wait_until_created(dir.path(), "stdout"));
  CHECK(pump->open_streams() == 2);

  // Destroyed on another thread, so a destructor that hangs fails the test instead of hanging it.
  std::promise<void> destroyed;
  auto done = destroyed.get_future();
  auto started = std::chrono::steady_clock::now();
  std::thread destroyer{[&destroyed, owned = std::move(pump)]() mutable {
    owned.reset();
    destroyed.set_value();
  }};
  if (done.wait_for(deadline) != std::future_status::ready) {
    destroyer.detach();
    FAIL("the pump's destructor did not return while a writer held a pipe open");
  }
  destroyer.join();
  CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds{2});
  CHECK(recorder.calls().empty());
  CHECK(read_file(dir.file("stdout")) == "partial");
  CHECK_FALSE(exists(dir.file("idle")));

  // The read end is closed: the writer's next write fails instead of blocking.
  sigpipe_blocked no_sigpipe;
  errno = 0;
  CHECK(::write(pipe.write_end.get(), "more", 4) == -1);
  CHECK(errno == EPIPE);
}

TEST_CASE("a pump with an empty callback is refused", "[proc][output_pump]") {
  CHECK_THROWS_AS(output_pump{output_pump::drained_callback{}}, std::invalid_argument);
}
