// beacon_filter: which authenticated beacons a node takes (its cluster and version, newer than
// its sender's last, near its clock), which it calls news, and how the table of senders stays
// bounded without letting a replay through.
#include "net/beacon_filter.hpp"

#include <catch2/catch.hpp>

#include <string>

using namespace claud;
using net::beacon_drop;

namespace {

constexpr int64_t now = 1764600000000;

pb::Beacon from(const std::string& node, int64_t sent_at_ms, const std::string& address = "a:1") {
  pb::Beacon b;
  b.set_cluster("prod");
  b.set_protocol_version(net::beacon_protocol_version);
  b.set_node_id(node);
  b.set_incarnation(7);
  b.set_role(pb::ROLE_SLAVE);
  b.set_address(address);
  b.set_sent_at_ms(sent_at_ms);
  return b;
}

net::beacon_filter make(size_t max_senders = 4096) {
  return net::beacon_filter{{"prod", "self", 60000, max_senders}};
}

uint64_t count(const net::beacon_filter& f, beacon_drop why) {
  return f.dropped()[static_cast<size_t>(why)];
}

} // namespace

TEST_CASE("a sender's first beacon is news, later ones only when its role or address changes") {
  auto f = make();
  CHECK(f.admit(from("s1", now), now).news);
  auto again = f.admit(from("s1", now + 1000), now + 1000);
  CHECK_FALSE(again.dropped);
  CHECK_FALSE(again.news);
  CHECK(f.admit(from("s1", now + 2000, "b:2"), now + 2000).news);
  auto master = from("s1", now + 3000, "b:2");
  master.set_role(pb::ROLE_MASTER);
  CHECK(f.admit(master, now + 3000).news);
  // A restart under another incarnation is another sender.
  auto restarted = from("s1", now + 100, "b:2");
  restarted.set_incarnation(8);
  CHECK(f.admit(restarted, now + 3000).news);
  CHECK(f.admitted() == 5);
}

TEST_CASE("replays, other clusters, versions and skewed clocks are dropped and counted") {
  auto f = make();
  REQUIRE_FALSE(f.admit(from("s1", now), now).dropped);
  CHECK(f.admit(from("s1", now), now + 10).dropped == beacon_drop::replayed);
  CHECK(f.admit(from("s1", now - 5), now + 10).dropped == beacon_drop::replayed);
  auto other = from("s2", now);
  other.set_cluster("staging");
  CHECK(f.admit(other, now).dropped == beacon_drop::foreign_cluster);
  auto version = from("s2", now);
  version.set_protocol_version(net::beacon_protocol_version + 1);
  CHECK(f.admit(version, now).dropped == beacon_drop::other_version);
  CHECK(f.admit(from("s3", now + 60001), now).dropped == beacon_drop::skewed);
  CHECK(f.admit(from("s3", now - 60001), now).dropped == beacon_drop::skewed);
  CHECK_FALSE(f.admit(from("s3", now + 60000), now).dropped);
  CHECK(f.admit(from("s4", now, "no port"), now).dropped == beacon_drop::malformed);
  CHECK(f.admit(from("", now), now).dropped == beacon_drop::malformed);
  // Its own beacons come back to a node: dropped, not counted.
  auto own = f.admit(from("self", now), now);
  CHECK(own.own);
  CHECK(count(f, beacon_drop::replayed) == 2);
  CHECK(count(f, beacon_drop::foreign_cluster) == 1);
  CHECK(count(f, beacon_drop::other_version) == 1);
  CHECK(count(f, beacon_drop::skewed) == 2);
  CHECK(count(f, beacon_drop::malformed) == 2);
}

TEST_CASE("the table of senders is bounded; a forgotten sender's old beacons stay refused") {
  auto f = make(3);
  for (const auto* node : {"a", "b", "c"})
    REQUIRE_FALSE(f.admit(from(node, now), now).dropped);
  // Full of recent senders: a new one waits until some go quiet.
  CHECK(f.admit(from("d", now + 1000), now + 1000).dropped == beacon_drop::too_many);
  REQUIRE_FALSE(f.admit(from("a", now + 59000), now + 59000).dropped);
  // b and c have been silent past the skew: forgotten, and d takes a place.
  CHECK_FALSE(f.admit(from("d", now + 61000), now + 61000).dropped);
  CHECK(f.senders() == 2);
  // A replay of b's old beacon is refused by the clock, though b is forgotten.
  CHECK(f.admit(from("b", now), now + 61000).dropped == beacon_drop::skewed);
  CHECK(count(f, beacon_drop::too_many) == 1);
}
