// check_append: the index rules every log_store enforces before it changes anything.
#include "storage/log_store.hpp"

#include <catch2/catch.hpp>

#include <stdexcept>

#include "entries.hpp"

using namespace claud::storage;
using claud::storage::test::entries;
using claud::storage::test::entry;
using claud::storage::test::snapshot;

TEST_CASE("check_append returns where the existing log is cut") {
  CHECK(check_append({}, 1, 0) == 1);
  CHECK(check_append(entries(1, 3, 1), 1, 0) == 1);
  CHECK(check_append(entries(6, 8, 1), 1, 5) == 6); // plain append
  CHECK(check_append(entries(3, 8, 2), 1, 5) == 3); // overwrites 3..5
  CHECK(check_append(entries(1, 1, 2), 1, 5) == 1); // overwrites everything
}

TEST_CASE("check_append rejects gaps, non-contiguous batches and compacted indices") {
  CHECK_THROWS_AS(check_append(entries(7, 8, 1), 1, 5), std::logic_error);
  CHECK_THROWS_AS(check_append({entry(0, 1)}, 1, 0), std::logic_error);
  CHECK_THROWS_AS(check_append({entry(6, 1), entry(8, 1)}, 1, 5), std::logic_error);
  CHECK_THROWS_AS(check_append({entry(6, 1), entry(6, 1)}, 1, 5), std::logic_error);
  CHECK_THROWS_AS(check_append(entries(4, 5, 1), 5, 10), std::logic_error);
  CHECK_THROWS_WITH(check_append(entries(9, 9, 1), 1, 5),
                    Catch::Contains("starts at index 9") && Catch::Contains("1..6"));
}

TEST_CASE("check_append explains an append into the snapshot") {
  CHECK(check_append(entries(11, 12, 1), 11, 10) == 11); // continues right after the snapshot
  CHECK_THROWS_WITH(check_append(entries(10, 10, 1), 11, 10),
                    Catch::Contains("compacted into a snapshot"));
  CHECK_THROWS_WITH(check_append(entries(12, 12, 1), 11, 10),
                    !Catch::Contains("compacted into a snapshot"));
}

TEST_CASE("check_snapshot accepts only newer snapshots, or the same one again") {
  CHECK_NOTHROW(check_snapshot(snapshot(5, 2), {}));
  CHECK_NOTHROW(check_snapshot(snapshot(5, 2), snapshot(5, 2)));
  CHECK_NOTHROW(check_snapshot(snapshot(6, 2), snapshot(5, 2)));
  CHECK_THROWS_WITH(check_snapshot(snapshot(4, 2), snapshot(5, 2)),
                    Catch::Contains("already has a newer one at index 5"));
  CHECK_THROWS_WITH(check_snapshot(snapshot(5, 3), snapshot(5, 2)),
                    Catch::Contains("at that index has term 2"));
  CHECK_THROWS_WITH(check_snapshot(snapshot(0, 0), {}), Catch::Contains("index 0"));
}

TEST_CASE("snapshot_keeps_log only when the log goes on past a matching entry") {
  CHECK(snapshot_keeps_log(snapshot(5, 2), 8, 2));
  CHECK_FALSE(snapshot_keeps_log(snapshot(5, 2), 8, 1)); // conflicting entry at 5
  CHECK_FALSE(snapshot_keeps_log(snapshot(5, 2), 5, 2)); // nothing after it
  CHECK_FALSE(snapshot_keeps_log(snapshot(9, 2), 5, 0)); // beyond the end
}
