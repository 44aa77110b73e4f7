// raft_log: terms at the edges (sentinel, end, snapshot), the follower's append with its conflict
// rules, the stable/commit/apply indexes and their invariants, snapshots and compaction, and
// rebuilding from what storage recovered.
#include "raft/raft_log.hpp"

#include <catch2/catch.hpp>

#include <cstdint>
#include <stdexcept>
#include <vector>

using namespace claud;
using claud::raft::raft_log;

namespace {

pb::LogEntry entry(uint64_t index, uint64_t term) {
  pb::LogEntry e;
  e.set_index(index);
  e.set_term(term);
  return e;
}

/// Entries first..first+terms.size()-1 with the given terms.
std::vector<pb::LogEntry> entries(uint64_t first, const std::vector<uint64_t>& terms) {
  std::vector<pb::LogEntry> out;
  for (size_t i = 0; i < terms.size(); ++i)
    out.push_back(entry(first + i, terms[i]));
  return out;
}

pb::Snapshot snapshot(uint64_t index, uint64_t term) {
  pb::Snapshot s;
  s.set_index(index);
  s.set_term(term);
  return s;
}

std::vector<uint64_t> indexes(const std::vector<pb::LogEntry>& list) {
  std::vector<uint64_t> out;
  for (const auto& e : list)
    out.push_back(e.index());
  return out;
}

std::vector<uint64_t> terms(const std::vector<pb::LogEntry>& list) {
  std::vector<uint64_t> out;
  for (const auto& e : list)
    out.push_back(e.term());
  return out;
}

using ids = std::vector<uint64_t>;

/// Entries 1..5 with terms 1 1 2 2 3, as a follower received them (all unstable).
raft_log five_entries() {
  raft_log log;
  REQUIRE(log.append_after(0, entries(1, {1, 1, 2, 2, 3})) == 5);
  return log;
}

} // namespace

TEST_CASE("an empty log is the sentinel: index 0 with term 0") {
  raft_log log;
  CHECK(log.first_index() == 1);
  CHECK(log.last_index() == 0);
  CHECK(log.last_term() == 0);
  CHECK(log.term(0) == 0);
  CHECK(log.term(1) == 0);
  CHECK(log.matches(0, 0));
  CHECK_FALSE(log.matches(0, 1));
  CHECK_FALSE(log.matches(1, 0));
  CHECK(log.committed() == 0);
  CHECK(log.applied() == 0);
  CHECK(log.stable_index() == 0);
  CHECK(log.unstable_entries().empty());
  CHECK(log.entries_to_apply().empty());
  CHECK(log.slice(1, 10).empty());
}

TEST_CASE("term() inside the log, past its end and below its snapshot") {
  auto log = five_entries();
  CHECK(log.term(0) == 0);
  CHECK(log.term(1) == 1);
  CHECK(log.term(3) == 2);
  CHECK(log.term(5) == 3);
  CHECK(log.last_term() == 3);
  CHECK(log.term(6) == 0);
  CHECK(log.term(1000) == 0);

  log.stable_to(5);
  log.commit_to(4);
  log.applied_to(4);
  log.compact_to(3);
  CHECK(log.snapshot_index() == 3);
  CHECK(log.term(3) == 2); // the snapshot's own term is kept
  CHECK(log.term(2) == 0); // compacted away: unknown
  CHECK(log.term(0) == 0);
  CHECK(log.term(4) == 2);
}

TEST_CASE("matches: same term at the index; compacted indexes match; past the end does not") {
  auto log = five_entries();
  CHECK(log.matches(3, 2));
  CHECK_FALSE(log.matches(3, 1));
  CHECK(log.matches(5, 3));
  CHECK_FALSE(log.matches(6, 3));
  CHECK_FALSE(log.matches(6, 0));

  log.commit_to(4);
  log.applied_to(4);
  log.compact_to(3);
  CHECK(log.matches(3, 2));       // the snapshot boundary has its term
  CHECK_FALSE(log.matches(3, 1)); // ... and only that one
  CHECK(log.matches(1, 99));      // below it everything was committed, so it matches
}

TEST_CASE("is_up_to_date compares the last term first, then the length") {
  auto log = five_entries(); // last entry (5, term 3)
  CHECK(log.is_up_to_date(5, 3));
  CHECK(log.is_up_to_date(6, 3));
  CHECK_FALSE(log.is_up_to_date(4, 3));
  CHECK(log.is_up_to_date(1, 4));        // a higher last term wins even when shorter
  CHECK_FALSE(log.is_up_to_date(50, 2)); // a lower last term loses even when longer
  raft_log empty;
  CHECK(empty.is_up_to_date(0, 0));
  CHECK(empty.is_up_to_date(1, 1));
}

TEST_CASE("append_after keeps entries that match and does not cut the log on a stale append") {
  auto log = five_entries();
  log.stable_to(5);
  CHECK(log.append_after(1, entries(2, {1, 2})) == 3);
  CHECK(log.last_index() == 5); // entries 4 and 5 stay: the message may be older than the log
  CHECK(log.stable_index() == 5);
  CHECK(log.unstable_entries().empty());
  CHECK(terms(log.slice(1, 10)) == ids{1, 1, 2, 2, 3});
  CHECK(log.append_after(3, {}) == 3); // a heartbeat-like append returns the index it followed
}

TEST_CASE("append_after cuts a conflicting suffix and lowers stable_index") {
  auto log = five_entries();
  log.stable_to(5);
  log.commit_to(2);
  CHECK(log.append_after(2, entries(3, {4, 4})) == 4);
  CHECK(log.last_index() == 4);
  CHECK(terms(log.slice(1, 10)) == ids{1, 1, 4, 4});
  CHECK(log.stable_index() == 2);
  CHECK(indexes(log.unstable_entries()) == ids{3, 4});
  CHECK(log.committed() == 2);
}

TEST_CASE("append_after appends past the end and skips entries a snapshot covers") {
  raft_log log;
  log.restore(snapshot(10, 2));
  CHECK(log.append_after(8, entries(9, {2, 2, 3})) == 11);
  CHECK(log.first_index() == 11);
  CHECK(log.last_index() == 11);
  CHECK(log.term(11) == 3);
  CHECK(indexes(log.unstable_entries()) == ids{11});
}

TEST_CASE("append_after refuses to overwrite a committed entry") {
  auto log = five_entries();
  log.commit_to(3);
  CHECK_THROWS_AS(log.append_after(2, entries(3, {9})), std::logic_error);
  CHECK_THROWS_WITH(log.append_after(2, entries(3, {9})), Catch::Contains("committed"));
  CHECK(log.term(3) == 2); // untouched
  CHECK(log.last_index() == 5);
  // Past the commit index a conflict is fine.
  CHECK(log.append_after(3, entries(4, {9})) == 4);
  CHECK(log.last_index() == 4);
}

TEST_CASE("append numbers the leader's entries after the last one") {
  raft_log log;
  pb::LogEntry e;
  e.set_term(1);
  e.set_index(77); // ignored: the log numbers it
  CHECK(log.append(e) == 1);
  e.set_term(2);
  CHECK(log.append(e) == 2);
  CHECK(log.last_index() == 2);
  CHECK(log.last_term() == 2);
  CHECK(indexes(log.unstable_entries()) == ids{1, 2});
  log.restore(snapshot(20, 3));
  CHECK(log.append(e) == 21);
}

TEST_CASE("slice is bounded by the log's first and last index and by max_count") {
  auto log = five_entries();
  CHECK(indexes(log.slice(1, 100)) == ids{1, 2, 3, 4, 5});
  CHECK(indexes(log.slice(2, 2)) == ids{2, 3});
  CHECK(indexes(log.slice(5, 2)) == ids{5});
  CHECK(log.slice(6, 10).empty());
  CHECK(log.slice(1, 0).empty());
  log.commit_to(5);
  log.applied_to(5);
  log.compact_to(2);
  CHECK(indexes(log.slice(0, 100)) == ids{3, 4, 5}); // from below the start: from the start
}

TEST_CASE("unstable entries until stable_to; stable_to never goes back nor past the end") {
  auto log = five_entries();
  CHECK(indexes(log.unstable_entries()) == ids{1, 2, 3, 4, 5});
  log.stable_to(3);
  CHECK(log.stable_index() == 3);
  CHECK(indexes(log.unstable_entries()) == ids{4, 5});
  log.stable_to(2);
  CHECK(log.stable_index() == 3);
  log.stable_to(99);
  CHECK(log.stable_index() == 5);
  CHECK(log.unstable_entries().empty());
}

TEST_CASE("commit_to never goes back and stops at the last index") {
  auto log = five_entries();
  log.commit_to(3);
  CHECK(log.committed() == 3);
  log.commit_to(2);
  CHECK(log.committed() == 3);
  log.commit_to(42);
  CHECK(log.committed() == 5);
}

TEST_CASE("entries_to_apply are those committed and not applied; applied_to checks the commit") {
  auto log = five_entries();
  CHECK(log.entries_to_apply().empty());
  log.commit_to(3);
  CHECK(indexes(log.entries_to_apply()) == ids{1, 2, 3});
  log.applied_to(2);
  CHECK(log.applied() == 2);
  CHECK(indexes(log.entries_to_apply()) == ids{3});
  log.applied_to(1); // never goes back
  CHECK(log.applied() == 2);
  CHECK_THROWS_AS(log.applied_to(4), std::logic_error);
  CHECK(log.applied() == 2);
  log.applied_to(3);
  CHECK(log.entries_to_apply().empty());
}

TEST_CASE("restore replaces the whole log by a snapshot") {
  auto log = five_entries();
  log.commit_to(2);
  log.restore(snapshot(10, 4));
  CHECK(log.snapshot_index() == 10);
  CHECK(log.snapshot_term() == 4);
  CHECK(log.first_index() == 11);
  CHECK(log.last_index() == 10);
  CHECK(log.last_term() == 4);
  CHECK(log.committed() == 10);
  CHECK(log.applied() == 10);
  CHECK(log.stable_index() == 10);
  CHECK(log.term(3) == 0);
  CHECK(log.unstable_entries().empty());
  CHECK(log.entries_to_apply().empty());
  CHECK(log.matches(10, 4));
}

TEST_CASE("compact_to drops applied entries, keeps the boundary's term, refuses unapplied ones") {
  auto log = five_entries();
  log.stable_to(5);
  log.commit_to(5);
  log.applied_to(3);
  CHECK_THROWS_AS(log.compact_to(4), std::logic_error);
  CHECK(log.snapshot_index() == 0);

  log.compact_to(3);
  CHECK(log.snapshot_index() == 3);
  CHECK(log.snapshot_term() == 2);
  CHECK(log.first_index() == 4);
  CHECK(log.last_index() == 5);
  CHECK(indexes(log.slice(1, 10)) == ids{4, 5});
  CHECK(indexes(log.entries_to_apply()) == ids{4, 5});

  log.compact_to(2); // at or below the snapshot: nothing to do
  CHECK(log.snapshot_index() == 3);
  CHECK(log.first_index() == 4);
}

TEST_CASE("a log rebuilt from storage is stable, applied up to its snapshot, commit clamped") {
  // Storage may hand back entries the snapshot already covers; they are dropped.
  raft_log log(snapshot(3, 1), entries(2, {1, 1, 2, 2}), 4);
  CHECK(log.snapshot_index() == 3);
  CHECK(log.first_index() == 4);
  CHECK(log.last_index() == 5);
  CHECK(log.term(3) == 1);
  CHECK(log.term(5) == 2);
  CHECK(log.stable_index() == 5);
  CHECK(log.unstable_entries().empty());
  CHECK(log.committed() == 4);
  CHECK(log.applied() == 3);
  CHECK(indexes(log.entries_to_apply()) == ids{4});

  raft_log beyond(snapshot(3, 1), entries(4, {1, 2}), 99);
  CHECK(beyond.committed() == 5);
  raft_log before(snapshot(3, 1), entries(4, {1, 2}), 0);
  CHECK(before.committed() == 3);
  raft_log empty(pb::Snapshot{}, {}, 0);
  CHECK(empty.last_index() == 0);
}

TEST_CASE("recovered entries with a gap are refused") {
  auto gap = entries(1, {1, 1});
  gap.push_back(entry(4, 1));
  CHECK_THROWS_AS(raft_log(pb::Snapshot{}, gap, 0), std::logic_error);
  // A gap right after the snapshot too.
  CHECK_THROWS_AS(raft_log(snapshot(3, 1), entries(5, {1}), 0), std::logic_error);
}
