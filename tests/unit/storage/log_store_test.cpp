// check_append: the index rules every log_store enforces before it changes anything.
#include "storage/log_store.hpp"

#include <catch2/catch.hpp>

#include <stdexcept>

#include "entries.hpp"

using namespace claud::storage;
using claud::storage::test::entries;
using claud::storage::test::entry;

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
