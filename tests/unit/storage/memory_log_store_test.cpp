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
