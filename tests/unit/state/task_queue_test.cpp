// task_queue: hand-outs in order, tasks sent again after a failure or a lost slot, the job failed
// at a task's last try, late reports; and under random slots, ends and losses, the rules it keeps
// (never lost, one hand-out per attempt, a done task never again).
#include "state/task_queue.hpp"

#include <map>
#include <random>
#include <set>

#include <catch2/catch.hpp>

using namespace claud;
using namespace claud::state;

namespace {

task_outcome success() {
  task_outcome o;
  o.succeeded = true;
  o.has_exit_code = true;
  return o;
}

task_outcome exit_with(int code) {
  task_outcome o;
  o.has_exit_code = true;
  o.exit_code = code;
  return o;
}

} // namespace

TEST_CASE("free slots are handed the tasks in order, each once, until every one is done") {
  pb::TaskProgress progress;
  task_queue q{progress, 3, 0};
  auto a = q.hand_out(1);
  auto b = q.hand_out(2);
  auto c = q.hand_out(3);
  REQUIRE(a);
  REQUIRE(b);
  REQUIRE(c);
  CHECK(a->index == 0);
  CHECK(b->index == 1);
  CHECK(c->index == 2);
  CHECK(a->attempt == 1);
  CHECK_FALSE(q.hand_out(4)); // all out
  CHECK(q.out() == 3);
  // A slot asking again while it has a task out lost the answer: it gets the same task.
  auto again = q.hand_out(1);
  REQUIRE(again);
  CHECK(again->index == 0);
  CHECK(again->attempt == 1);
  CHECK(q.out() == 3);
  CHECK(q.ended(*b, 2, success()) == task_end::done);
  CHECK(q.ended(*b, 2, success()) == task_end::ignored); // a repeated report
  CHECK(q.ended(*a, 1, success()) == task_end::done);
  CHECK(q.ended(*c, 3, success()) == task_end::done);
  CHECK(q.finished());
  CHECK(q.is_done(0));
  CHECK(progress.done().size() == 1); // 3 tasks, one byte of bitmap
  CHECK_FALSE(q.hand_out(1));
}

TEST_CASE("a failed attempt goes again before new tasks; its last try fails the job") {
  pb::TaskProgress progress;
  task_queue q{progress, 5, 2};
  auto first = q.hand_out(1);
  CHECK(q.ended(*first, 1, exit_with(3)) == task_end::requeued);
  auto again = q.hand_out(1);
  REQUIRE(again);
  CHECK(again->index == 0);
  CHECK(again->attempt == 2);
  CHECK(progress.retried() == 1);
  CHECK(q.ended(*first, 1, exit_with(3)) == task_end::ignored); // the old attempt's report again
  CHECK(q.ended(*again, 1, exit_with(4)) == task_end::failed_job);
  CHECK(q.failed());
  CHECK(progress.failure().index() == 0);
  CHECK(progress.failure().attempt() == 2);
  CHECK(progress.failure().exit_code() == 4);
  CHECK_FALSE(q.hand_out(1)); // a failed job hands out nothing more
}

TEST_CASE("a lost slot sends its tasks back; a late success of a lost attempt stands") {
  pb::TaskProgress progress;
  task_queue q{progress, 4, 3};
  auto on_lost = q.hand_out(7);
  auto elsewhere = q.hand_out(8);
  auto lost = q.slot_lost(7, "its node was lost");
  REQUIRE(lost.size() == 1);
  CHECK(lost[0].index == on_lost->index);
  CHECK(q.out() == 1);
  CHECK(q.waiting() == 3);
  // The node was only slow: its report arrives after the loss, before the task went again.
  CHECK(q.ended(*on_lost, 7, success()) == task_end::done);
  CHECK(progress.requeued_size() == 0);
  auto next = q.hand_out(10);
  CHECK(next->index == 2); // not task 0 again
  // Out again elsewhere when the late success comes: done, and the other attempt's end ignored.
  CHECK(q.ended(*elsewhere, 8, success()) == task_end::done);
  q.slot_lost(10, "stopped");
  auto retry = q.hand_out(9);
  CHECK(retry->index == 2);
  CHECK(retry->attempt == 2);
  CHECK(q.ended(*next, 10, success()) == task_end::done);
  CHECK(q.attempt_out(2) == 0);
  CHECK(q.ended(*retry, 9, success()) == task_end::ignored);
  // A failure of a lost attempt counts for nothing: that attempt was counted when it was lost.
  auto last = q.hand_out(9);
  q.slot_lost(9, "gone");
  CHECK(q.ended(*last, 9, exit_with(1)) == task_end::ignored);
  CHECK(progress.failures().at(last->index) == 1);
}

TEST_CASE("reports that name no attempt handed out are ignored") {
  pb::TaskProgress progress;
  task_queue q{progress, 2, 0};
  CHECK(q.ended({5, 1}, 1, success()) == task_end::ignored); // no such task
  CHECK(q.ended({0, 1}, 1, success()) == task_end::ignored); // never handed out
  auto grant = q.hand_out(1);
  CHECK(q.ended({0, 2}, 1, success()) == task_end::ignored); // an attempt not made
  CHECK(q.ended(*grant, 2, success()) == task_end::ignored); // another slot's claim
  CHECK(q.ended(*grant, 1, success()) == task_end::done);
}

TEST_CASE("milestones: each threshold once, when the done tasks pass it") {
  const std::vector<uint32_t> quarters{25, 50, 75, 100};
  CHECK(milestones_passed(9, 21, 40, quarters) == std::vector<uint32_t>{25, 50});
  CHECK(milestones_passed(9, 10, 40, quarters) == std::vector<uint32_t>{25}); // exactly 25 %
  CHECK(milestones_passed(10, 11, 40, quarters).empty());                     // passed already
  CHECK(milestones_passed(10, 10, 40, quarters).empty());
  CHECK(milestones_passed(0, 3, 3, quarters) == quarters);
  CHECK(milestones_passed(1, 2, 3, quarters) == std::vector<uint32_t>{50}); // 66 % passes 50 only
  CHECK(milestones_passed(0, 100000, 100000, {1}) == std::vector<uint32_t>{1});
}

TEST_CASE("under random hand-outs, ends and losses, no task is lost or run twice in an attempt") {
  for (uint32_t seed = 1; seed <= 20; ++seed) {
    INFO("seed " << seed);
    std::mt19937 random(seed);
    const uint32_t count = 1 + random() % 200;
    const uint32_t attempts = 1 + random() % 4;
    pb::TaskProgress progress;
    task_queue q{progress, count, attempts};
    std::map<uint64_t, std::optional<task_grant>> slots; // what each slot runs
    std::set<std::pair<uint32_t, uint32_t>> granted;
    std::set<uint32_t> done;
    for (int step = 0; step < 20000 && !q.finished() && !q.failed(); ++step) {
      const uint64_t slot = random() % 6;
      auto& running = slots[slot];
      const auto dice = random() % 100;
      if (!running) {
        running = q.hand_out(slot);
        if (running) {
          CHECK(granted.insert({running->index, running->attempt}).second); // once an attempt
          CHECK(done.count(running->index) == 0);                           // never done ones
        }
      } else if (dice >= 95) { // its pull again (the answer lost): the same task
        auto again = q.hand_out(slot);
        REQUIRE(again);
        CHECK(again->index == running->index);
        CHECK(again->attempt == running->attempt);
      } else if (dice < 5) {
        q.slot_lost(slot, "lost");
        if (dice < 2) { // the slot was only slow: it reports after all
          auto end = q.ended(*running, slot, success());
          if (end == task_end::done)
            done.insert(running->index);
        }
        running.reset();
      } else {
        const bool ok = dice > 15;
        auto end = q.ended(*running, slot, ok ? success() : exit_with(1));
        CHECK(end != task_end::ignored);
        if (end == task_end::done)
          done.insert(running->index);
        running.reset();
      }
      // Every task is done, out or to go: the three add up, and no task is in two of them.
      CHECK(q.done() + q.out() + q.waiting() == count);
      CHECK(q.done() == done.size());
    }
    CHECK((q.finished() || q.failed()));
    if (q.finished())
      for (uint32_t i = 0; i < count; ++i)
        CHECK(q.is_done(i));
  }
}
