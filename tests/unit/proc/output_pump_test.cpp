// output_pump and make_output_pipe with real pipes, files and child processes: files appear only
// with a first byte, every byte arrives in order before the callback, each stream is reported once.
// What happens when a file cannot be stored, or the pump goes away, is in
// output_pump_failure_test.cpp.
#include "output_pump_support.hpp"

using claud::unique_fd;
using namespace claud::proc;
using namespace claud::proc::test;

TEST_CASE_METHOD(pump_fixture, "a stream nobody writes to creates no file and drains without error",
                 "[proc][output_pump]") {
  auto path = dir.file("stdout");
  auto pipe = stream_into(path, 7);
  pipe.write_end.reset();
  REQUIRE(recorder.wait_for(1));
  auto call = recorder.only_call();
  CHECK(call.token == 7);
  CHECK(call.error.empty());
  CHECK_FALSE(call.file.has_value());
  CHECK_FALSE(exists(path));
  CHECK(pump.open_streams() == 0);
}

TEST_CASE_METHOD(pump_fixture,
                 "bytes arrive in order and are all in the file when the callback comes",
                 "[proc][output_pump]") {
  auto path = dir.file("stdout");
  auto pipe = stream_into(path, 1);

  // The first byte creates the file while the stream is still open.
  REQUIRE(write_all(pipe.write_end.get(), "f"));
  REQUIRE(wait_until_created(dir.path(), "stdout"));
  CHECK(pump.open_streams() == 1);
  CHECK(recorder.calls().empty());

  // Many small writes, more than a pipe buffer in all: the pump must keep up and keep the order.
  std::string expected = "f";
  for (int line = 0; line < 20'000; ++line) {
    auto text = "line " + std::to_string(line) + "\n";
    if (!write_all(pipe.write_end.get(), text))
      FAIL("the pump stopped reading at line " << line);
    expected += text;
  }
  REQUIRE(expected.size() > 64 * 1024);
  pipe.write_end.reset();
  REQUIRE(recorder.wait_for(1));
  auto call = recorder.only_call();
  CHECK(call.error.empty());
  REQUIRE(call.file.has_value());
  CHECK(*call.file == expected); // the callback came after the last byte was in the file
  CHECK(read_file(path) == expected);
}

TEST_CASE("bytes written and the end of the pipe before add are all stored",
          "[proc][output_pump]") {
  scratch_dir dir;
  drain_recorder recorder;
  output_pump pump{into(recorder)};
  auto pipe = make_output_pipe();
  REQUIRE(write_all(pipe.write_end.get(), "written early\n"));
  pipe.write_end.reset();
  auto path = dir.file("stdout");
  recorder.watch(3, path);
  pump.add(std::move(pipe.read_end), path, 3);
  REQUIRE(recorder.wait_for(1));
  auto call = recorder.only_call();
  CHECK(call.error.empty());
  CHECK(call.file == std::optional<std::string>{"written early\n"});
}

TEST_CASE("an existing file is truncated and the file gets mode 0644", "[proc][output_pump]") {
  scratch_dir dir;
  auto path = dir.file("stdout");
  write_file(path, "old content that is longer than the new one\n", 0600);
  drain_recorder recorder;
  output_pump pump{into(recorder)};
  auto pipe = make_output_pipe();
  pump.add(std::move(pipe.read_end), path, 1);
  REQUIRE(write_all(pipe.write_end.get(), "new\n"));
  pipe.write_end.reset();
  REQUIRE(recorder.wait_for(1));
  CHECK(recorder.only_call().error.empty());
  CHECK(read_file(path) == "new\n");
  ::unlink(path.c_str());

  // A fresh file: 0644 less the umask.
  auto fresh = make_output_pipe();
  pump.add(std::move(fresh.read_end), path, 2);
  REQUIRE(write_all(fresh.write_end.get(), "x"));
  fresh.write_end.reset();
  REQUIRE(recorder.wait_for(2));
  mode_t umask_now = ::umask(022);
  ::umask(umask_now);
  struct stat info;
  REQUIRE(::stat(path.c_str(), &info) == 0);
  CHECK((info.st_mode & 0777) == (0644 & ~umask_now));
}

TEST_CASE_METHOD(pump_fixture, "several MB from a child process arrive whole",
                 "[proc][output_pump]") {
  child_guard guard;
  auto pipe = stream_into(dir.file("stdout"), 42);

  constexpr int count = 1'000'000;
  auto request = request_in(dir, {"seq", "1", std::to_string(count)}, "child-");
  request.stdout_path.clear();
  request.stdout_fd = pipe.write_end.get();
  pid_t pid = guard.add(spawn_process(request));
  pipe.write_end.reset(); // the child is now the only writer
  auto status = wait_and_reap(pid);
  REQUIRE(status.has_value());
  CHECK(status->exited);
  CHECK(status->code == 0);

  REQUIRE(recorder.wait_for(1));
  auto expected = numbers_up_to(count);
  REQUIRE(expected.size() > 6'000'000);
  auto call = recorder.only_call();
  CHECK(call.token == 42);
  CHECK(call.error.empty());
  REQUIRE(call.file.has_value());
  CHECK(call.file->size() == expected.size());
  CHECK(*call.file == expected);
  CHECK(read_file(dir.file("child-stderr")).empty());
}

TEST_CASE_METHOD(pump_fixture, "a child's stdout and stderr pumped through two pipes",
                 "[proc][output_pump]") {
  child_guard guard;
  auto out = stream_into(dir.file("stdout"), 1);
  auto err = stream_into(dir.file("stderr"), 2);
  CHECK(pump.open_streams() == 2);

  spawn_request request;
  request.argv = {"sh", "-c", "echo out1; echo err >&2; echo out2"};
  request.stdout_fd = out.write_end.get();
  request.stderr_fd = err.write_end.get();
  pid_t pid = guard.add(spawn_process(request));
  out.write_end.reset();
  err.write_end.reset();
  auto status = wait_and_reap(pid);
  REQUIRE(status.has_value());
  CHECK(status->code == 0);

  REQUIRE(recorder.wait_for(2));
  std::map<uint64_t, drain_call> by_token;
  for (auto& call : recorder.calls())
    by_token[call.token] = call;
  REQUIRE(by_token.size() == 2);
  CHECK(by_token[1].error.empty());
  CHECK(by_token[1].file == std::optional<std::string>{"out1\nout2\n"});
  CHECK(by_token[2].error.empty());
  CHECK(by_token[2].file == std::optional<std::string>{"err\n"});
  CHECK(pump.open_streams() == 0);
}

TEST_CASE_METHOD(pump_fixture,
                 "a stream stays open while a process the job left behind still holds the pipe",
                 "[proc][output_pump]") {
  child_guard guard;
  auto path = dir.file("stdout");
  auto pipe = stream_into(path, 5);

  // The shell prints, leaves a background writer holding stdout, and exits at once.
  auto request = request_in(dir, {"sh", "-c", "echo early; (sleep 0.3; echo late) &"}, "child-");
  request.stdout_path.clear();
  request.stdout_fd = pipe.write_end.get();
  pid_t pid = guard.add(spawn_process(request));
  pipe.write_end.reset();
  auto status = wait_and_reap(pid);
  REQUIRE(status.has_value());
  CHECK(status->code == 0);

  // Drained only once the background process wrote and exited: its line is in the file.
  REQUIRE(recorder.wait_for(1));
  auto call = recorder.only_call();
  CHECK(call.error.empty());
  CHECK(call.file == std::optional<std::string>{"early\nlate\n"});
}

TEST_CASE("each of several concurrent streams is reported once with its own token",
          "[proc][output_pump]") {
  constexpr size_t stream_count = 8;
  const std::vector<uint64_t> tokens
      = {0, 1, 2, 1ULL << 32, 1ULL << 63, UINT64_MAX - 1, 77, UINT64_MAX};
  REQUIRE(tokens.size() == stream_count);
  scratch_dir dir;
  drain_recorder recorder;
  output_pump pump{into(recorder)};
  std::vector<unique_fd> writers;
  std::map<uint64_t, std::string> expected;
  for (size_t i = 0; i < stream_count; ++i) {
    auto pipe = make_output_pipe();
    auto path = dir.file("out-" + std::to_string(i));
    recorder.watch(tokens[i], path);
    pump.add(std::move(pipe.read_end), path, tokens[i]);
    writers.push_back(std::move(pipe.write_end));
  }
  CHECK(pump.open_streams() == stream_count);

  // Interleaved writes; stream 3 writes nothing and gets no file.
  for (int round = 0; round < 200; ++round) {
    for (size_t i = 0; i < stream_count; ++i) {
      if (i == 3)
        continue;
      auto text = "stream " + std::to_string(i) + " round " + std::to_string(round) + "\n";
      if (!write_all(writers[i].get(), text))
        FAIL("the pump stopped reading stream " << i);
      expected[tokens[i]] += text;
    }
  }
  // Closed in an order unlike the order added.
  for (size_t i : {5, 0, 7, 3, 1, 6, 2, 4})
    writers[i].reset();

  REQUIRE(recorder.wait_for(stream_count));
  auto calls = recorder.calls();
  REQUIRE(calls.size() == stream_count);
  std::map<uint64_t, drain_call> by_token;
  for (auto& call : calls) {
    CHECK(call.thread == calls.front().thread); // all on the pump's one thread
    CHECK(by_token.count(call.token) == 0);     // each token once
    by_token[call.token] = call;
  }
  CHECK(calls.front().thread != std::this_thread::get_id());
  for (size_t i = 0; i < stream_count; ++i) {
    INFO("stream " << i);
    auto found = by_token.find(tokens[i]);
    REQUIRE(found != by_token.end());
    CHECK(found->second.error.empty());
    if (i == 3) {
      CHECK_FALSE(found->second.file.has_value());
      CHECK_FALSE(exists(dir.file("out-3")));
    } else {
      CHECK(found->second.file == std::optional<std::string>{expected[tokens[i]]});
    }
  }
  CHECK(pump.open_streams() == 0);
}

TEST_CASE("open_streams counts the streams whose end is not reported yet", "[proc][output_pump]") {
  scratch_dir dir;
  drain_recorder recorder;
  output_pump pump{into(recorder)};
  CHECK(pump.open_streams() == 0);
  std::vector<unique_fd> writers;
  for (uint64_t token = 1; token <= 3; ++token) {
    auto pipe = make_output_pipe();
    pump.add(std::move(pipe.read_end), dir.file("out-" + std::to_string(token)), token);
    writers.push_back(std::move(pipe.write_end));
    CHECK(pump.open_streams() == token);
  }
  writers[1].reset();
  REQUIRE(recorder.wait_for(1));
  CHECK(recorder.calls().front().token == 2);
  CHECK(pump.open_streams() == 2);
  writers[0].reset();
  writers[2].reset();
  REQUIRE(recorder.wait_for(3));
  CHECK(pump.open_streams() == 0);
}

TEST_CASE("make_output_pipe: above 2, close-on-exec, only the read end non-blocking",
          "[proc][output_pump]") {
  auto pipe = make_output_pipe();
  REQUIRE(pipe.read_end.valid());
  REQUIRE(pipe.write_end.valid());
  CHECK(pipe.read_end.get() > STDERR_FILENO);
  CHECK(pipe.write_end.get() > STDERR_FILENO);
  CHECK((::fcntl(pipe.read_end.get(), F_GETFD) & FD_CLOEXEC) != 0);
  CHECK((::fcntl(pipe.write_end.get(), F_GETFD) & FD_CLOEXEC) != 0);
  CHECK((::fcntl(pipe.read_end.get(), F_GETFL) & O_NONBLOCK) != 0);
  CHECK((::fcntl(pipe.write_end.get(), F_GETFL) & O_NONBLOCK) == 0);

  // An empty pipe: the read end answers at once instead of blocking.
  char byte;
  errno = 0;
  CHECK(::read(pipe.read_end.get(), &byte, 1) == -1);
  CHECK(errno == EAGAIN);
  REQUIRE(::write(pipe.write_end.get(), "z", 1) == 1);
  CHECK(::read(pipe.read_end.get(), &byte, 1) == 1);
  CHECK(byte == 'z');
}

TEST_CASE("make_output_pipe stays above 2 when 0, 1 and 2 are closed", "[proc][output_pump]") {
  // Saved high and restored before any assertion: Catch writes to stdout.
  int saved[3];
  for (int fd = 0; fd <= STDERR_FILENO; ++fd)
    saved[fd] = ::fcntl(fd, F_DUPFD_CLOEXEC, 10);
  for (int fd = 0; fd <= STDERR_FILENO; ++fd)
    if (saved[fd] >= 0)
      ::close(fd);
  int read_fd = -1;
  int write_fd = -1;
  bool works = false;
  bool low_fd_left_open = false;
  std::string error;
  try {
    auto pipe = make_output_pipe();
    read_fd = pipe.read_end.get();
    write_fd = pipe.write_end.get();
    char byte = 0;
    works = ::write(write_fd, "w", 1) == 1 && ::read(read_fd, &byte, 1) == 1 && byte == 'w';
    // pipe2 got 0 and 1: moved above 2, they must not stay open as well.
    for (int fd = 0; fd <= STDERR_FILENO; ++fd)
      low_fd_left_open = low_fd_left_open || ::fcntl(fd, F_GETFD) >= 0;
  } catch (const std::exception& e) {
    error = e.what();
  }
  for (int fd = 0; fd <= STDERR_FILENO; ++fd) {
    if (saved[fd] >= 0) {
      ::dup2(saved[fd], fd);
      ::close(saved[fd]);
    }
  }
  CHECK(error.empty());
  CHECK(read_fd > STDERR_FILENO);
  CHECK(write_fd > STDERR_FILENO);
  CHECK(works);
  CHECK_FALSE(low_fd_left_open);
}

TEST_CASE("a stream over its bound keeps its first and last halves and says what was dropped",
          "[proc][output_pump]") {
  pump_fixture f{20};
  auto path = f.dir.file("stdout");
  auto pipe = f.stream_into(path, 1);
  REQUIRE(write_all(pipe.write_end.get(), "0123456789"));           // the head
  REQUIRE(write_all(pipe.write_end.get(), std::string(1000, 'x'))); // dropped
  REQUIRE(write_all(pipe.write_end.get(), "ABCDEFGHIJ"));           // the tail
  pipe.write_end.reset();
  REQUIRE(f.recorder.wait_for(1));
  CHECK(f.recorder.only_call().error.empty());
  CHECK(read_file(path)
        == "0123456789\n[claud: 1000 bytes of output dropped here: a stream keeps its first 10 "
           "and last 10 bytes (--max-output 20)]\nABCDEFGHIJ");
  CHECK_FALSE(std::filesystem::exists(path + ".tail"));
}

TEST_CASE("a stream exactly at its bound is stored whole, with nothing dropped",
          "[proc][output_pump]") {
  pump_fixture f{20};
  auto path = f.dir.file("stdout");
  auto pipe = f.stream_into(path, 1);
  for (const char* piece : {"0123456", "789abc", "defghij"}) // 20 bytes, in three writes
    REQUIRE(write_all(pipe.write_end.get(), piece));
  pipe.write_end.reset();
  REQUIRE(f.recorder.wait_for(1));
  CHECK(read_file(path) == "0123456789abcdefghij");
  CHECK_FALSE(std::filesystem::exists(path + ".tail"));
}

TEST_CASE("a ring that wrapped part-way is appended oldest byte first", "[proc][output_pump]") {
  pump_fixture f{21}; // a head of 10, a ring of 11
  auto path = f.dir.file("stdout");
  auto pipe = f.stream_into(path, 1);
  REQUIRE(write_all(pipe.write_end.get(), "0123456789")); // the head
  for (const char* piece : {"abcdefg", "hijklmn"})        // 14 bytes into a ring of 11
    REQUIRE(write_all(pipe.write_end.get(), piece));
  pipe.write_end.reset();
  REQUIRE(f.recorder.wait_for(1));
  CHECK(read_file(path)
        == "0123456789\n[claud: 3 bytes of output dropped here: a stream keeps its first 10 and "
           "last 11 bytes (--max-output 21)]\ndefghijklmn");
}
