// started_attempts: what a restarted slave finds in the journal of started attempts, the rewrite
// that drops forgotten ones, lines a crash tore or garbled, and files that cannot be written.
#include "storage/started_attempts.hpp"

#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstdint>
#include <string>

#include "storage/storage_error.hpp"
#include "temp_dir.hpp"

using namespace claud::storage;
using claud::storage::test::read_bytes;
using claud::storage::test::temp_dir;
using claud::storage::test::write_bytes;

namespace {

size_t lines_in(const std::string& path) {
  auto content = read_bytes(path);
  return static_cast<size_t>(std::count(content.begin(), content.end(), '\n'));
}

bool exists(const std::string& path) {
  struct stat info {};
  return ::stat(path.c_str(), &info) == 0;
}

std::string job(int number) {
  return "job-" + std::to_string(number);
}

std::string error_of_constructing(const std::string& path) {
  try {
    started_attempts attempts{path};
  } catch (const storage_error& error) {
    return error.what();
  }
  FAIL("started_attempts did not throw storage_error for " << path);
  return {};
}

// Lowers this process's file size limit (RLIMIT_FSIZE) for one test, with SIGXFSZ ignored so a
// write past it fails with EFBIG instead of killing the test. A limit binds root as well.
class file_size_limit {
public:
  explicit file_size_limit(rlim_t bytes) {
    REQUIRE(::getrlimit(RLIMIT_FSIZE, &saved_limit_) == 0);
    struct sigaction ignore {};
    ignore.sa_handler = SIG_IGN;
    REQUIRE(::sigaction(SIGXFSZ, &ignore, &saved_action_) == 0);
    rlimit lowered = saved_limit_;
    lowered.rlim_cur = bytes;
    REQUIRE(::setrlimit(RLIMIT_FSIZE, &lowered) == 0);
  }
  ~file_size_limit() {
    ::setrlimit(RLIMIT_FSIZE, &saved_limit_);
    ::sigaction(SIGXFSZ, &saved_action_, nullptr);
  }
  file_size_limit(const file_size_limit&) = delete;
  file_size_limit& operator=(const file_size_limit&) = delete;

private:
  rlimit saved_limit_{};
  struct sigaction saved_action_ {};
};

} // namespace

TEST_CASE("a missing file means nothing was started") {
  temp_dir tmp;
  started_attempts attempts{tmp / "started-attempts"};
  CHECK(attempts.size() == 0);
  CHECK_FALSE(attempts.contains("job-1", 1));
  CHECK_FALSE(attempts.contains("", 0));
}

TEST_CASE("a recorded attempt is contained, other attempts and jobs are not") {
  temp_dir tmp;
  started_attempts attempts{tmp / "started-attempts"};
  attempts.record("job-1", 1);
  attempts.record("job-1", 3);
  attempts.record("job-2", UINT32_MAX);
  CHECK(attempts.size() == 3);
  CHECK(attempts.contains("job-1", 1));
  CHECK(attempts.contains("job-1", 3));
  CHECK(attempts.contains("job-2", UINT32_MAX));
  CHECK_FALSE(attempts.contains("job-1", 2));
  CHECK_FALSE(attempts.contains("job-2", 1));
  CHECK_FALSE(attempts.contains("job-3", 1));
  CHECK_FALSE(attempts.contains("job", 1));
  CHECK(read_bytes(tmp / "started-attempts") == "job-1 1\njob-1 3\njob-2 4294967295\n");
}

TEST_CASE("a restarted slave sees what the previous one recorded") {
  temp_dir tmp;
  {
    started_attempts first{tmp / "started-attempts"};
    first.record("job-1", 1);
    first.record("job-2", 7);
    first.record("job-1", 1); // a repeat changes nothing
    CHECK(first.size() == 2);
  }
  started_attempts second{tmp / "started-attempts"};
  CHECK(second.size() == 2);
  CHECK(second.contains("job-1", 1));
  CHECK(second.contains("job-2", 7));
  CHECK_FALSE(second.contains("job-2", 1));

  // It keeps appending to the same file: a third run sees both runs' attempts.
  second.record("job-3", 2);
  started_attempts third{tmp / "started-attempts"};
  CHECK(third.size() == 3);
  CHECK(third.contains("job-3", 2));
  CHECK(third.contains("job-1", 1));
}

TEST_CASE("forget removes one attempt and ignores what it does not hold") {
  temp_dir tmp;
  started_attempts attempts{tmp / "started-attempts"};
  attempts.record("job-1", 1);
  attempts.record("job-1", 2);
  attempts.forget("job-1", 1);
  CHECK_FALSE(attempts.contains("job-1", 1));
  CHECK(attempts.contains("job-1", 2));
  CHECK(attempts.size() == 1);
  attempts.forget("job-1", 1);
  attempts.forget("job-9", 1);
  CHECK(attempts.size() == 1);
  CHECK(attempts.contains("job-1", 2));
}

TEST_CASE("forgetting is written down; the file keeps only live attempts once they are few") {
  constexpr int recorded = 1100;
  temp_dir tmp;
  auto path = tmp / "started-attempts";
  started_attempts attempts{path};
  for (int i = 0; i < recorded; ++i)
    attempts.record(job(i), 1);
  REQUIRE(lines_in(path) == recorded);
  auto full_size = read_bytes(path).size();

  // A forget is a line of its own: a restarted slave does not load the attempt again.
  attempts.forget(job(0), 1);
  CHECK(lines_in(path) == recorded + 1);
  {
    started_attempts restarted{path};
    CHECK_FALSE(restarted.contains(job(0), 1));
    CHECK(restarted.contains(job(1), 1));
  }

  // Rewritten at the first forget that makes the lines (starts and forgets) at least twice the
  // live attempts: 1100 + 367 >= 2 * (1100 - 367).
  int forgotten = 1;
  while (forgotten < recorded && lines_in(path) == static_cast<size_t>(recorded + forgotten))
    attempts.forget(job(forgotten++), 1);
  CHECK(forgotten == 367);
  CHECK(attempts.size() == static_cast<size_t>(recorded - forgotten));
  CHECK(lines_in(path) == attempts.size());
  CHECK(read_bytes(path).size() < full_size);
  CHECK_FALSE(exists(path + ".tmp"));

  // Records after the rewrite go to the new file, not to the replaced one.
  attempts.record("after-rewrite", 4);

  started_attempts restarted{path};
  CHECK(restarted.size() == static_cast<size_t>(recorded - forgotten + 1));
  CHECK(restarted.contains("after-rewrite", 4));
  for (int i = 0; i < recorded; ++i) {
    INFO(job(i));
    CHECK(restarted.contains(job(i), 1) == (i >= forgotten));
  }
}

TEST_CASE("a torn last line and garbage lines are skipped, good lines load") {
  temp_dir tmp;
  auto path = tmp / "started-attempts";
  write_bytes(path, "job-a 1\n"
                    "garbage\n"
                    " 5\n"
                    "job-b x\n"
                    "job-c 4294967296\n" // above UINT32_MAX
                    "job-d -1\n"
                    "job-e 2x\n"
                    "job-f 2 \n"
                    "\n"
                    "job-g 7\n"
                    "job-h 3"); // torn: its newline never made it
  started_attempts attempts{path};
  CHECK(attempts.size() == 2);
  CHECK(attempts.contains("job-a", 1));
  CHECK(attempts.contains("job-g", 7));
  CHECK_FALSE(attempts.contains("job-h", 3));
  CHECK_FALSE(attempts.contains("job-b", 0));
  CHECK_FALSE(attempts.contains("job-c", 0));
  CHECK_FALSE(attempts.contains("job-e", 2));
  CHECK_FALSE(attempts.contains("job-f", 2));
}

// The torn last line is cut off at load: an append that continued it ("job-h 3job-i 5\n") would be
// skipped as garbage by the next run, which would then not know job-i attempt 5 was started.
TEST_CASE("an attempt recorded after a torn last line is seen by the next run") {
  temp_dir tmp;
  auto path = tmp / "started-attempts";
  write_bytes(path, "job-g 7\njob-h 3");
  {
    started_attempts attempts{path};
    attempts.record("job-i", 5);
    CHECK(attempts.contains("job-i", 5));
  }
  started_attempts restarted{path};
  CHECK(restarted.contains("job-g", 7));
  CHECK(restarted.contains("job-i", 5));
}

// The same without a crash: a write cut short by a full disk (here: a file size limit that lets 3
// bytes through) must not leave "job" at the end, or the next record would become "jobjob-3 1".
TEST_CASE("a record after one that was written only in part is seen by the next run") {
  temp_dir tmp;
  auto path = tmp / "started-attempts";
  started_attempts attempts{path};
  attempts.record("job-1", 1);
  {
    file_size_limit three_more_bytes{read_bytes(path).size() + 3};
    CHECK_THROWS_AS(attempts.record("job-2", 1), storage_error);
  }
  attempts.record("job-3", 1);
  CHECK(attempts.contains("job-3", 1));
  started_attempts restarted{path};
  CHECK(restarted.contains("job-1", 1));
  CHECK(restarted.contains("job-3", 1));
  CHECK_FALSE(restarted.contains("jobjob-3", 1)); // nor a job that never existed
}

TEST_CASE("a journal that cannot be opened throws storage_error naming the path") {
  temp_dir tmp;
  auto in_missing_dir = tmp / "no-such-dir/started-attempts";
  CHECK_THAT(error_of_constructing(in_missing_dir), Catch::Contains(in_missing_dir));
  // A directory where the file should be: it can be neither read nor appended to.
  REQUIRE(::mkdir((tmp / "a-dir").c_str(), 0755) == 0);
  CHECK_THAT(error_of_constructing(tmp / "a-dir"), Catch::Contains(tmp / "a-dir"));
}

TEST_CASE("a record that cannot be written throws storage_error and is not kept") {
  temp_dir tmp;
  auto path = tmp / "started-attempts";
  started_attempts attempts{path};
  attempts.record("job-1", 1);
  auto size_before = read_bytes(path).size();
  {
    // Not one more byte fits (EFBIG), as on a full disk (ENOSPC).
    file_size_limit no_more_bytes{size_before};
    try {
      attempts.record("job-2", 1);
      FAIL("record did not throw");
    } catch (const storage_error& error) {
      CHECK_THAT(std::string{error.what()}, Catch::Contains(path));
    }
  }
  CHECK_FALSE(attempts.contains("job-2", 1));
  CHECK(attempts.contains("job-1", 1));
  CHECK(read_bytes(path).size() == size_before);

  // Once there is room again, records work and survive a restart.
  attempts.record("job-3", 1);
  started_attempts restarted{path};
  CHECK(restarted.contains("job-1", 1));
  CHECK(restarted.contains("job-3", 1));
  CHECK_FALSE(restarted.contains("job-2", 1));
}
