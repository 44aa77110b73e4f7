// attempt_book: a slave's decisions about its job attempts, with made-up pids and times — when a
// report is due, what a start asks for (spawn, nothing, report again, refuse, supersede), what an
// acknowledgement settles, and what retention keeps.
#include "slave/attempt_book.hpp"

#include <catch2/catch.hpp>

using claud::slave::attempt_book;
using claud::slave::attempt_key;
using action = attempt_book::start_action;
namespace pb = claud::pb;

namespace {

pb::Job start(const std::string& id, uint32_t attempt, int64_t memory_bytes = 1 << 20) {
  pb::Job job;
  job.set_id(id);
  job.set_attempts(attempt);
  job.mutable_spec()->add_argv("true");
  job.mutable_spec()->set_memory_bytes(memory_bytes);
  return job;
}

/// Plans and spawns `id`'s attempt as pid `pid` at `now`, with both streams open.
std::vector<uint64_t> run(attempt_book& book, const std::string& id, uint32_t attempt, int64_t pid,
                          int64_t now = 0) {
  REQUIRE(book.plan_start(start(id, attempt), false).action == action::spawn);
  std::vector<uint64_t> streams{book.open_stream({id, attempt}), book.open_stream({id, attempt})};
  book.spawned({id, attempt}, pid, now);
  return streams;
}

void close_all(attempt_book& book, const std::vector<uint64_t>& streams) {
  for (auto token : streams)
    book.stream_closed(token);
}

} // namespace

TEST_CASE("a start is reported after the delay, and only until it is acknowledged") {
  attempt_book book;
  run(book, "1", 1, 100, 5);
  CHECK_FALSE(book.reports_queued()); // the host's started_report_delay runs first
  book.started_delay_over({"1", 1});
  auto batch = book.take_reports();
  REQUIRE(batch.jobs_size() == 1);
  CHECK(batch.jobs(0).running());
  CHECK(batch.jobs(0).started_at_ms() == 5);
  auto settled = book.acknowledge(batch);
  REQUIRE(settled.size() == 1);
  CHECK(settled[0].job_id == "1");
  book.started_delay_over({"1", 1});
  CHECK_FALSE(book.reports_queued());
  CHECK(book.full_report().jobs_size() == 1); // running: the leader may not know its end
  CHECK(book.pid_of({"1", 1}) == 100);
}

TEST_CASE("a job that ends within the delay is reported once, started and ended together") {
  attempt_book book;
  auto streams = run(book, "1", 1, 100, 5);
  close_all(book, streams);
  auto outcome = book.exited(100, true, 3, 0, false, 9);
  CHECK(outcome.known);
  CHECK_FALSE(outcome.waits_for_output);
  book.started_delay_over({"1", 1});
  auto batch = book.take_reports();
  REQUIRE(batch.jobs_size() == 1);
  CHECK_FALSE(batch.jobs(0).running());
  CHECK(batch.jobs(0).exit_code() == 3);
  CHECK(batch.jobs(0).started_at_ms() == 5);
  CHECK(batch.jobs(0).finished_at_ms() == 9);
  CHECK(book.pid_of({"1", 1}) == 0);
}

TEST_CASE("an end waits for the output streams, or for the host's output wait") {
  attempt_book book;
  auto streams = run(book, "1", 1, 100);
  auto outcome = book.exited(100, false, 0, 9, false, 1);
  CHECK(outcome.waits_for_output);
  CHECK_FALSE(book.reports_queued());
  CHECK(book.status({"1", 1}).ongoing); // its output is still on its way

  SECTION("both streams close") {
    book.stream_closed(streams[0]);
    CHECK_FALSE(book.reports_queued());
    CHECK(book.stream_closed(streams[1])->job_id == "1");
    CHECK(book.reports_queued());
  }
  SECTION("a stream stays open (a process the job left holds it): the wait ends it") {
    book.stream_closed(streams[0]);
    book.output_wait_over({"1", 1});
    CHECK(book.take_reports().jobs(0).term_signal() == 9);
    book.stream_closed(streams[1]);
    CHECK_FALSE(book.reports_queued()); // reported once
  }
}

TEST_CASE("an acknowledgement settles only the report that was sent") {
  attempt_book book;
  auto streams = run(book, "1", 1, 100);
  book.started_delay_over({"1", 1});
  auto running = book.take_reports();
  close_all(book, streams);
  book.exited(100, true, 0, 0, false, 2); // ends before the running report is acknowledged
  book.acknowledge(running);
  CHECK(book.full_report().jobs_size() == 1); // the end is still to be told
  auto ended = book.take_reports();
  REQUIRE(ended.jobs_size() == 1);
  book.acknowledge(ended);
  CHECK(book.full_report().jobs_size() == 0);
  book.resend_unacknowledged();
  CHECK_FALSE(book.reports_queued());
}

TEST_CASE("a repeated start changes nothing; a start of an ended attempt reports its end again") {
  attempt_book book;
  auto streams = run(book, "1", 2, 100);
  CHECK(book.plan_start(start("1", 2), false).action == action::nothing);
  CHECK(book.plan_start(start("1", 1), false).action == action::nothing); // older
  close_all(book, streams);
  book.exited(100, true, 0, 0, false, 2);
  book.acknowledge(book.take_reports());
  CHECK(book.plan_start(start("1", 2), false).action == action::report_again);
  auto again = book.take_reports();
  REQUIRE(again.jobs_size() == 1);
  CHECK_FALSE(again.jobs(0).running());
}

TEST_CASE("an attempt an earlier run of the slave started is refused, never run twice") {
  attempt_book book;
  auto plan = book.plan_start(start("1", 1), true);
  CHECK(plan.action == action::refuse);
  book.spawn_failed({"1", 1}, "started before", 3);
  auto batch = book.take_reports();
  REQUIRE(batch.jobs_size() == 1);
  CHECK(batch.jobs(0).reason() == "started before");
  CHECK_FALSE(batch.jobs(0).running());
}

TEST_CASE("a newer attempt supersedes a running older one, which exits unreported") {
  attempt_book book;
  run(book, "1", 1, 100);
  auto plan = book.plan_start(start("1", 2), false);
  CHECK(plan.action == action::spawn);
  REQUIRE(plan.stop_older);
  CHECK(plan.stop_older->attempt == 1);
  CHECK(book.pid_of({"1", 1}) == 100); // still running until it exits
  book.open_stream({"1", 2});
  book.spawned({"1", 2}, 200, 1);
  CHECK(book.full_report().jobs_size() == 2); // the leader stops the older one too
  auto older = book.exited(100, false, 0, 15, false, 2);
  CHECK(older.superseded);
  CHECK(older.attempt.attempt == 1);
  CHECK_FALSE(book.reports_queued());
  CHECK(book.pids() == std::vector<int64_t>{200});
  CHECK_FALSE(book.exited(999, true, 0, 0, false, 3).known);
}

TEST_CASE("a job over its memory limit says so, and how to ask for more") {
  attempt_book book;
  REQUIRE(book.plan_start(start("1", 1, 64 << 20), false).action == action::spawn);
  book.spawned({"1", 1}, 100, 0);
  book.exited(100, false, 0, 9, true, 1);
  auto report = book.take_reports().jobs(0);
  CHECK(report.reason() == "over its memory limit of 64 MiB; ask for more with --memory");
}

TEST_CASE("a job past its --timeout is stopped and its end says so; one that ended is left") {
  attempt_book book;
  REQUIRE(book.plan_start(start("1", 1), false).action == action::spawn);
  book.spawned({"1", 1}, 100, 0);
  const std::string why = "ran longer than its --timeout of 30s, so it was stopped";
  CHECK_FALSE(book.timeout_over({"1", 2}, why)); // not an attempt of this book
  CHECK(book.timeout_over({"1", 1}, why));
  book.exited(100, false, 0, 15, false, 30'000);
  auto report = book.take_reports().jobs(0);
  CHECK(report.term_signal() == 15);
  CHECK(report.reason() == why);
  CHECK_FALSE(book.timeout_over({"1", 1}, why)); // it ended: nothing to stop
}

TEST_CASE("retention keeps running, writing and unacknowledged output; forgets settled ends") {
  attempt_book book;
  auto streams = run(book, "1", 1, 100);
  CHECK(book.keeps_output({"1", 1}));
  CHECK_FALSE(book.keeps_output({"1", 7})); // not the latest attempt
  close_all(book, streams);
  book.exited(100, true, 0, 0, false, 50);
  CHECK(book.keeps_output({"1", 1})); // its end is not committed yet
  book.forget_ended_before(100);
  CHECK(book.size() == 1);
  book.acknowledge(book.take_reports());
  CHECK_FALSE(book.keeps_output({"1", 1}));
  book.forget_ended_before(50); // ended at 50: not before it
  CHECK(book.size() == 1);
  book.forget_ended_before(51);
  CHECK(book.size() == 0);
}
