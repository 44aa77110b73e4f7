// memory_log_store: the log_store contract, and lose_unsynced() as the simulator's crash.
#include "storage/memory_log_store.hpp"

#include <catch2/catch.hpp>

#include <stdexcept>

#include "entries.hpp"

using namespace claud::storage;
using claud::storage::test::entries;
using claud::storage::test::entry;
using claud::storage::test::hard_state;
using claud::storage::test::same;
using claud::storage::test::snapshot;
using claud::storage::test::summary;

TEST_CASE("a new memory store is empty") {
  auto store = make_memory_log_store();
  CHECK(store->first_index() == 1);
  CHECK(store->last_index() == 0);
  CHECK(store->entries().empty());
  CHECK(same(store->hard_state(), claud::pb::HardState{}));
}

TEST_CASE("memory store appends, overwrites a suffix and keeps the hard state") {
  auto store = make_memory_log_store();
  store->append(entries(1, 5, 1));
  store->append(entries(6, 7, 1));
  CHECK(store->last_index() == 7);
  store->append(entries(4, 4, 2));
  CHECK(store->last_index() == 4);
  auto expected = entries(1, 3, 1);
  expected.push_back(entry(4, 2));
  CHECK(summary(store->entries()) == summary(expected));
  store->set_hard_state(hard_state(2, "m1", 3));
  CHECK(same(store->hard_state(), hard_state(2, "m1", 3)));
}

TEST_CASE("memory store rejects bad indices without changing anything") {
  auto store = make_memory_log_store();
  store->append(entries(1, 3, 1));
  CHECK_THROWS_AS(store->append(entries(5, 6, 1)), std::logic_error);
  CHECK_THROWS_AS(store->append({entry(4, 1), entry(6, 1)}), std::logic_error);
  CHECK(summary(store->entries()) == summary(entries(1, 3, 1)));
}

TEST_CASE("lose_unsynced keeps exactly what the last sync covered") {
  memory_log_store store;
  store.append(entries(1, 5, 1));
  store.set_hard_state(hard_state(1, "m1", 2));
  store.sync();
  store.append(entries(6, 8, 1));
  store.set_hard_state(hard_state(1, "m1", 7));
  store.lose_unsynced();
  CHECK(summary(store.entries()) == summary(entries(1, 5, 1)));
  CHECK(same(store.hard_state(), hard_state(1, "m1", 2)));

  // An overwritten suffix that was not synced comes back after a crash.
  store.append(entries(3, 3, 2));
  store.lose_unsynced();
  CHECK(summary(store.entries()) == summary(entries(1, 5, 1)));

  // A synced overwrite stays, along with the entries before it.
  store.append(entries(3, 4, 2));
  store.sync();
  store.append(entries(5, 6, 2));
  store.append(entries(2, 2, 3));
  store.lose_unsynced();
  auto expected = entries(1, 2, 1);
  expected.push_back(entry(3, 2));
  expected.push_back(entry(4, 2));
  CHECK(summary(store.entries()) == summary(expected));
  CHECK(store.sync_count() == 2);
}

TEST_CASE("a memory store snapshot compacts the log up to its index") {
  auto store = make_memory_log_store();
  CHECK(store->snapshot().index() == 0);
  store->append(entries(1, 10, 1));
  store->save_snapshot(snapshot(4, 1));
  CHECK(same(store->snapshot(), snapshot(4, 1)));
  CHECK(store->first_index() == 5);
  CHECK(store->last_index() == 10);
  CHECK(summary(store->entries()) == summary(entries(5, 10, 1)));
  CHECK_THROWS_WITH(store->append(entries(4, 5, 2)), Catch::Contains("compacted"));
  store->append(entries(5, 6, 2)); // overwriting right after the snapshot is fine
  CHECK(summary(store->entries()) == summary(entries(5, 6, 2)));
  store->save_snapshot(snapshot(4, 1)); // the same one again changes nothing
  CHECK(store->first_index() == 5);
  CHECK(store->last_index() == 6);
}

TEST_CASE("a memory store snapshot beyond the end, or conflicting, replaces the whole log") {
  auto store = make_memory_log_store();
  store->append(entries(1, 5, 1));
  SECTION("beyond the end: the log continues after it") {
    store->save_snapshot(snapshot(9, 3));
    CHECK(store->first_index() == 10);
    CHECK(store->last_index() == 9);
    CHECK(store->entries().empty());
    CHECK_THROWS_AS(store->append(entries(11, 11, 3)), std::logic_error);
    CHECK_THROWS_AS(store->append(entries(9, 10, 3)), std::logic_error);
    store->append(entries(10, 11, 3));
    CHECK(summary(store->entries()) == summary(entries(10, 11, 3)));
  }
  SECTION("at the last index") {
    store->save_snapshot(snapshot(5, 1));
    CHECK(store->entries().empty());
    CHECK(store->last_index() == 5);
  }
  SECTION("an entry of another term at its index") {
    store->save_snapshot(snapshot(3, 2));
    CHECK(store->entries().empty());
    CHECK(store->first_index() == 4);
    CHECK(store->last_index() == 3);
  }
}

TEST_CASE("a memory store rejects an older snapshot without changing anything") {
  auto store = make_memory_log_store();
  store->append(entries(1, 10, 1));
  store->save_snapshot(snapshot(5, 1));
  CHECK_THROWS_AS(store->save_snapshot(snapshot(4, 1)), std::logic_error);
  CHECK_THROWS_AS(store->save_snapshot(snapshot(5, 2)), std::logic_error);
  CHECK_THROWS_AS(store->save_snapshot(snapshot(0, 0)), std::logic_error);
  CHECK(same(store->snapshot(), snapshot(5, 1)));
  CHECK(summary(store->entries()) == summary(entries(6, 10, 1)));
}

TEST_CASE("lose_unsynced keeps the snapshot and the synced entries after it") {
  memory_log_store store;
  store.append(entries(1, 6, 1));
  store.sync();
  store.append(entries(7, 10, 1));
  SECTION("compaction within the synced log") {
    store.save_snapshot(snapshot(4, 1));
    CHECK(store.last_index() == 10); // unsynced entries above it are still there...
    store.lose_unsynced();           // ...until a crash
    CHECK(same(store.snapshot(), snapshot(4, 1)));
    CHECK(store.first_index() == 5);
    CHECK(summary(store.entries()) == summary(entries(5, 6, 1)));
  }
  SECTION("compaction past the synced log") {
    store.save_snapshot(snapshot(8, 1));
    CHECK(summary(store.entries()) == summary(entries(9, 10, 1)));
    store.lose_unsynced();
    CHECK(same(store.snapshot(), snapshot(8, 1)));
    CHECK(store.entries().empty());
    CHECK(store.last_index() == 8);
    store.append(entries(9, 9, 2));
    CHECK(store.last_index() == 9);
  }
  SECTION("an installed snapshot, then entries after it that are synced") {
    store.save_snapshot(snapshot(20, 4));
    store.append(entries(21, 22, 4));
    store.sync();
    store.append(entries(23, 23, 4));
    store.lose_unsynced();
    CHECK(same(store.snapshot(), snapshot(20, 4)));
    CHECK(summary(store.entries()) == summary(entries(21, 22, 4)));
  }
  SECTION("synced entries stay synced across a compaction") {
    store.sync();
    store.save_snapshot(snapshot(3, 1));
    store.append(entries(11, 12, 1));
    store.sync();
    store.lose_unsynced();
    CHECK(summary(store.entries()) == summary(entries(4, 12, 1)));
  }
  SECTION("a sync right after a compaction covers exactly the entries left") {
    store.save_snapshot(snapshot(3, 1));
    store.sync();
    store.lose_unsynced();
    CHECK(summary(store.entries()) == summary(entries(4, 10, 1)));
    store.save_snapshot(snapshot(9, 1));
    store.sync();
    store.lose_unsynced();
    CHECK(summary(store.entries()) == summary(entries(10, 10, 1)));
  }
}
