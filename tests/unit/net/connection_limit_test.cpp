#include "net/connection_limit.hpp"

#include <algorithm>
#include <vector>

#include <catch2/catch.hpp>

using claud::net::connection_limit;

TEST_CASE("an address holds at most its limit of connections, and gets a place back as one ends") {
  connection_limit limit{2};
  auto first = limit.admit("10.0.0.1");
  auto second = limit.admit("10.0.0.1");
  REQUIRE(first);
  REQUIRE(second);
  CHECK_FALSE(limit.admit("10.0.0.1"));
  CHECK(limit.admit("10.0.0.2")); // another address counts on its own (released at once)
  CHECK(limit.open("10.0.0.2") == 0);
  CHECK(limit.open("10.0.0.1") == 2);
  auto copy = first; // a place is given back with the last copy of its hold
  first.reset();
  CHECK_FALSE(limit.admit("10.0.0.1"));
  copy.reset();
  CHECK(limit.open("10.0.0.1") == 1);
  CHECK(limit.admit("10.0.0.1"));
}

TEST_CASE("a limit of 0 bounds nothing, and holds may outlive their limit") {
  std::vector<std::shared_ptr<void>> holds;
  {
    connection_limit unbounded{0};
    for (int i = 0; i < 1000; ++i)
      holds.push_back(unbounded.admit("127.0.0.1"));
    CHECK(unbounded.open("127.0.0.1") == 1000);
    CHECK(std::all_of(holds.begin(), holds.end(), [](const auto& hold) { return bool(hold); }));
  }
  holds.clear(); // released after the limit is gone, as scribes may be: the counts live on
}
