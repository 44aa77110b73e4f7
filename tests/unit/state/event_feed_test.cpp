// event_feed: the order and completeness of what a subscriber receives (whole entries, one batch
// in flight), resuming from an index, the bounds (lag, history, subscriptions, leases) and the
// snapshot that replaces what a subscriber missed.
#include "state/event_feed.hpp"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

using namespace claud;
using state::event_feed;

namespace {

pb::Event job_event(uint64_t index, const std::string& job) {
  pb::Event e;
  e.set_index(index);
  e.set_kind(pb::EVENT_JOB_ENDED);
  e.set_job_id(job);
  return e;
}

/// The events of entries first..last, one per entry (job "j<index>"), after `last_index`.
void append_entries(event_feed& feed, uint64_t first, uint64_t last) {
  std::vector<pb::Event> events;
  for (uint64_t i = first; i <= last; ++i)
    events.push_back(job_event(i, "j" + std::to_string(i)));
  feed.append(first - 1, last, std::move(events));
}

pb::Subscribe subscribe_from(uint64_t from) {
  pb::Subscribe s;
  s.set_from(from);
  return s;
}

/// The one batch `poll` has for `subscription`, which must be there.
pb::EventBatch batch_for(event_feed::outgoing& out, uint64_t subscription) {
  for (auto& b : out.batches)
    if (b.subscription == subscription)
      return *b.batch;
  FAIL("no batch for subscription " << subscription);
  return {};
}

std::vector<uint64_t> indexes(const pb::EventBatch& batch) {
  std::vector<uint64_t> out;
  for (const auto& e : batch.events())
    out.push_back(e.index());
  return out;
}

state::feed_limits small() {
  state::feed_limits limits;
  limits.history_events = 10;
  limits.max_lag_events = 5;
  limits.max_batch_events = 3;
  limits.lease_ms = 1000;
  limits.keepalive_ms = 100;
  limits.max_subscribers = 2;
  limits.min_batch_interval_ms = 0; // the test below sets it
  return limits;
}

} // namespace

TEST_CASE("a subscriber gets every event after its index in order, one batch at a time") {
  event_feed feed{small()};
  feed.append(0, 0, {});
  auto id = feed.subscribe(subscribe_from(0), 0).subscription;
  REQUIRE(id != 0);
  append_entries(feed, 1, 5);
  auto out = feed.poll(10);
  auto first = batch_for(out, id);
  CHECK(indexes(first) == std::vector<uint64_t>{1, 2, 3});
  CHECK(first.index() == 3);
  CHECK(feed.poll(20).batches.empty()); // the first is not acknowledged yet
  REQUIRE(feed.acknowledge(id, 3, 20));
  out = feed.poll(30);
  auto second = batch_for(out, id);
  CHECK(indexes(second) == std::vector<uint64_t>{4, 5});
  CHECK(second.index() == 5);
}

TEST_CASE("a batch never splits an entry's events, and entries without events still count") {
  event_feed feed{small()};
  feed.append(0, 0, {});
  auto id = feed.subscribe(subscribe_from(0), 0).subscription;
  std::vector<pb::Event> events;
  for (int i = 0; i < 4; ++i)
    events.push_back(job_event(1, "a" + std::to_string(i))); // one entry, four events
  events.push_back(job_event(2, "b"));
  feed.append(0, 9, std::move(events)); // entries 3..9 made no event
  auto out = feed.poll(10);
  auto first = batch_for(out, id);
  CHECK(indexes(first) == std::vector<uint64_t>{1, 1, 1, 1});
  CHECK(first.index() == 1);
  feed.acknowledge(id, 1, 10);
  out = feed.poll(11);
  auto second = batch_for(out, id);
  CHECK(indexes(second) == std::vector<uint64_t>{2});
  CHECK(second.index() == 9);
}

TEST_CASE("a filter selects, and the index still moves past what it does not pass") {
  event_feed feed{small()};
  feed.append(0, 0, {});
  pb::Subscribe request = subscribe_from(0);
  request.mutable_filter()->add_job_ids("j2");
  auto id = feed.subscribe(request, 0).subscription;
  append_entries(feed, 1, 4);
  auto out = feed.poll(1);
  auto batch = batch_for(out, id);
  CHECK(indexes(batch) == std::vector<uint64_t>{2});
  CHECK(batch.index() == 4);
}

TEST_CASE("without an index, a subscription starts with a snapshot, then streams after it") {
  event_feed feed{small()};
  append_entries(feed, 1, 3);
  auto id = feed.subscribe(pb::Subscribe{}, 0).subscription;
  auto out = feed.poll(1);
  REQUIRE(out.snapshots_wanted == std::vector<uint64_t>{id});
  std::vector<pb::Event> states(4, job_event(3, "x"));
  for (auto& e : states)
    e.set_kind(pb::EVENT_JOB_STATE);
  feed.snapshot_ready(id, 3, states);
  append_entries(feed, 4, 4);
  out = feed.poll(2);
  auto first = batch_for(out, id);
  CHECK(first.snapshot());
  CHECK_FALSE(first.snapshot_done());
  CHECK(first.missed_from() == 0); // asked for, nothing missed
  CHECK(first.events_size() == 3);
  feed.acknowledge(id, first.index(), 2);
  out = feed.poll(3);
  auto last = batch_for(out, id);
  CHECK(last.snapshot_done());
  CHECK(last.events_size() == 1);
  CHECK(last.index() == 3);
  feed.acknowledge(id, 3, 3);
  out = feed.poll(4);
  CHECK(indexes(batch_for(out, id)) == std::vector<uint64_t>{4});
}

TEST_CASE("a subscriber too far behind gets one notice of what it missed and a snapshot") {
  event_feed feed{small()};
  feed.append(0, 0, {});
  auto id = feed.subscribe(subscribe_from(0), 0).subscription;
  append_entries(feed, 1, 1);
  auto out = feed.poll(1);
  CHECK(indexes(batch_for(out, id)) == std::vector<uint64_t>{1}); // in flight, never acknowledged
  append_entries(feed, 2, 7);                                     // six behind, more than 5
  CHECK(feed.history_size() == 7);                                // shared, not copied per reader
  feed.acknowledge(id, 1, 2);
  out = feed.poll(3);
  REQUIRE(out.snapshots_wanted == std::vector<uint64_t>{id});
  feed.snapshot_ready(id, 7, {});
  out = feed.poll(4);
  auto snapshot = batch_for(out, id);
  CHECK(snapshot.snapshot());
  CHECK(snapshot.snapshot_done());
  CHECK(snapshot.missed_from() == 2);
  CHECK(snapshot.index() == 7);
  feed.acknowledge(id, 7, 4);
  append_entries(feed, 8, 8);
  out = feed.poll(5);
  auto next = batch_for(out, id);
  CHECK(next.missed_from() == 0);
  CHECK(indexes(next) == std::vector<uint64_t>{8});
}

TEST_CASE("the history is bounded; an index older than it is answered with a snapshot") {
  event_feed feed{small()};
  append_entries(feed, 1, 25);
  CHECK(feed.history_size() == 10);
  CHECK(feed.history_start() == 15);
  auto recent = feed.subscribe(subscribe_from(20), 0).subscription; // 5 behind: the lag allows
  auto old = feed.subscribe(subscribe_from(3), 0).subscription;
  auto out = feed.poll(1);
  CHECK(indexes(batch_for(out, recent)) == std::vector<uint64_t>{21, 22, 23});
  CHECK(out.snapshots_wanted == std::vector<uint64_t>{old});
  feed.snapshot_ready(old, 25, {});
  out = feed.poll(2);
  CHECK(batch_for(out, old).missed_from() == 4);
}

TEST_CASE("a subscriber that resumes ahead of this master waits for it, without repeats") {
  event_feed feed{small()};
  append_entries(feed, 1, 4);
  auto id = feed.subscribe(subscribe_from(6), 0).subscription;
  CHECK(feed.poll(1).batches.empty()); // nothing new to it
  auto out = feed.poll(100);
  auto idle = batch_for(out, id);
  CHECK(idle.events_size() == 0);
  CHECK(idle.index() == 6);
  feed.acknowledge(id, 6, 1);
  append_entries(feed, 5, 8);
  out = feed.poll(200);
  CHECK(indexes(batch_for(out, id)) == std::vector<uint64_t>{7, 8});
}

TEST_CASE("a gap in what the master applied restarts the history; readers behind it resnapshot") {
  event_feed feed{small()};
  append_entries(feed, 1, 4);
  auto id = feed.subscribe(subscribe_from(4), 0).subscription;
  feed.poll(1);
  feed.acknowledge(id, 4, 1);
  feed.append(50, 50, {}); // a snapshot from the leader was installed up to 50
  CHECK(feed.history_start() == 50);
  auto out = feed.poll(2);
  CHECK(out.snapshots_wanted == std::vector<uint64_t>{id});
}

TEST_CASE("an idle subscription gets keepalives; one that acknowledges nothing is dropped") {
  event_feed feed{small()};
  feed.append(0, 0, {});
  auto id = feed.subscribe(subscribe_from(0), 0).subscription;
  CHECK(feed.poll(50).batches.empty());
  auto out = feed.poll(100);
  auto keepalive = batch_for(out, id);
  CHECK(keepalive.events_size() == 0);
  CHECK(feed.acknowledge(id, keepalive.index(), 150));
  out = feed.poll(1150);
  CHECK(out.dropped.empty());
  out = feed.poll(1300); // last heard at 150: the lease ran out at 1150
  REQUIRE(out.dropped == std::vector<uint64_t>{id});
  CHECK(batch_for(out, id).ended() == "no acknowledgement within the 1000 ms lease");
  CHECK(feed.subscriptions() == 0);
  CHECK_FALSE(feed.acknowledge(id, 0, 1300));
}

TEST_CASE("subscriptions are bounded, and a filter out of bounds is refused") {
  event_feed feed{small()};
  CHECK(feed.subscribe(pb::Subscribe{}, 0).subscription != 0);
  CHECK(feed.subscribe(pb::Subscribe{}, 0).subscription != 0);
  auto third = feed.subscribe(pb::Subscribe{}, 0);
  CHECK(third.subscription == 0);
  CHECK(third.overloaded);
  feed.remove(1);
  pb::Subscribe bad;
  bad.mutable_filter()->set_name_prefix(std::string(1000, 'n'));
  auto refused = feed.subscribe(bad, 0);
  CHECK(refused.subscription == 0);
  CHECK_FALSE(refused.overloaded);
  CHECK(refused.error == "a name prefix of 1000 bytes is too long; at most 256");
}

TEST_CASE("a subscription waits for min_index, and gives up on a master that never gets there") {
  event_feed feed{small()};
  append_entries(feed, 1, 2);
  pb::Subscribe request;
  request.set_min_index(4);
  auto id = feed.subscribe(request, 0).subscription;
  CHECK(feed.poll(1).snapshots_wanted.empty());
  append_entries(feed, 3, 4);
  CHECK(feed.poll(2).snapshots_wanted == std::vector<uint64_t>{id});
  feed.remove(id);

  pb::Subscribe far;
  far.set_min_index(100);
  auto stuck = feed.subscribe(far, 10).subscription;
  auto out = feed.poll(500);
  feed.acknowledge(stuck, batch_for(out, stuck).index(), 500);
  out = feed.poll(1020);
  REQUIRE(out.dropped == std::vector<uint64_t>{stuck});
  CHECK(batch_for(out, stuck).ended().find("applied the log up to index 4 only, not 100")
        != std::string::npos);
}

TEST_CASE("a dense stream goes out in fewer batches, a sparse one at once") {
  auto limits = small();
  limits.min_batch_interval_ms = 5;
  event_feed feed{limits};
  feed.append(0, 0, {});
  auto id = feed.subscribe(subscribe_from(0), 0).subscription;
  append_entries(feed, 1, 1);
  auto out = feed.poll(10); // long after the last batch: at once
  CHECK(indexes(batch_for(out, id)) == std::vector<uint64_t>{1});
  feed.acknowledge(id, 1, 11);
  append_entries(feed, 2, 2);
  out = feed.poll(id, 12); // 2 ms after the last: it waits, and says when to poll again
  CHECK(out.batches.empty());
  CHECK(out.deferred);
  append_entries(feed, 3, 3);
  out = feed.poll(15);
  CHECK(indexes(batch_for(out, id)) == std::vector<uint64_t>{2, 3});
  feed.acknowledge(id, 3, 15);
  CHECK_FALSE(feed.poll(16).deferred); // nothing new: nothing waits
}

TEST_CASE("a subscriber that resumes too far behind gets a snapshot, not the whole history") {
  event_feed feed{small()};
  append_entries(feed, 1, 9); // within the history of 10, but 6 more than the lag of 5 after 3
  auto far = feed.subscribe(subscribe_from(3), 0).subscription;
  auto near = feed.subscribe(subscribe_from(6), 0).subscription;
  auto out = feed.poll(1);
  CHECK(out.snapshots_wanted == std::vector<uint64_t>{far});
  CHECK(indexes(batch_for(out, near)) == std::vector<uint64_t>{7, 8, 9});
  feed.snapshot_ready(far, 9, {});
  out = feed.poll(2);
  CHECK(batch_for(out, far).missed_from() == 4);
}
