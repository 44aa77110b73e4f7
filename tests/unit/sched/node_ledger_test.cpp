// node_ledger: committed node records plus the reservations of placements still in flight.
#include "sched/node_ledger.hpp"

#include <catch2/catch.hpp>

#include <random>

using claud::sched::node_ledger;
namespace pb = claud::pb;

namespace {

pb::Node node(const std::string& id, int64_t cpu_total, int64_t cpu_used) {
  pb::Node n;
  n.set_id(id);
  n.set_cpu_millis_total(cpu_total);
  n.set_cpu_millis_used(cpu_used);
  n.set_memory_bytes_total(1000);
  return n;
}

pb::JobSpec spec(int64_t cpu_millis, int64_t memory_bytes) {
  pb::JobSpec s;
  s.set_cpu_millis(cpu_millis);
  s.set_memory_bytes(memory_bytes);
  return s;
}

google::protobuf::RepeatedPtrField<pb::Node> list(std::initializer_list<pb::Node> nodes) {
  google::protobuf::RepeatedPtrField<pb::Node> out;
  for (const auto& n : nodes)
    *out.Add() = n;
  return out;
}

const pb::Node& find(const std::vector<pb::Node>& nodes, const std::string& id) {
  for (const auto& n : nodes)
    if (n.id() == id)
      return n;
  FAIL("no node " << id);
  throw std::logic_error("unreachable");
}

} // namespace

TEST_CASE("a reservation counts as used on its node until it is released") {
  node_ledger ledger;
  ledger.reset(list({node("b", 4000, 1000), node("a", 2000, 0)}));
  auto first = ledger.reserve("b", spec(500, 100));
  auto second = ledger.reserve("b", spec(250, 50));
  ledger.reserve("a", spec(2000, 10));
  auto nodes = ledger.nodes();
  REQUIRE(nodes.size() == 2);
  CHECK(nodes[0].id() == "a"); // in id order, whatever the order given
  CHECK(find(nodes, "b").cpu_millis_used() == 1750);
  CHECK(find(nodes, "b").memory_bytes_used() == 150);
  CHECK(find(nodes, "a").cpu_millis_used() == 2000);
  CHECK(ledger.reservations() == 3);

  ledger.release(first);
  ledger.release(first); // twice: nothing more
  ledger.release(12345); // unknown: ignored
  CHECK(find(ledger.nodes(), "b").cpu_millis_used() == 1250);
  ledger.release(second);
  CHECK(find(ledger.nodes(), "b").cpu_millis_used() == 1000);
  CHECK(ledger.reservations() == 1);
}

TEST_CASE("committed records replace the held ones; reservations stay across them") {
  node_ledger ledger;
  ledger.reset(list({node("a", 4000, 0)}));
  ledger.reserve("a", spec(1000, 0));
  ledger.update(node("a", 4000, 500)); // a commit elsewhere took 500
  CHECK(find(ledger.nodes(), "a").cpu_millis_used() == 1500);
  ledger.update(node("c", 1000, 0)); // a node that joined
  CHECK(ledger.nodes().size() == 2);

  pb::ClusterState view;
  (*view.mutable_nodes())["a"] = node("a", 8000, 0);
  ledger.reset(view.nodes()); // a scheduler pass's view: c is gone from it
  auto nodes = ledger.nodes();
  REQUIRE(nodes.size() == 1);
  CHECK(nodes[0].cpu_millis_total() == 8000);
  CHECK(nodes[0].cpu_millis_used() == 1000); // the reservation still holds
}

TEST_CASE("a reservation on a node the ledger does not know changes nothing") {
  node_ledger ledger;
  ledger.reserve("ghost", spec(1000, 1000));
  CHECK(ledger.nodes().empty());
  ledger.reset(list({node("a", 1000, 0)}));
  CHECK(find(ledger.nodes(), "a").cpu_millis_used() == 0);
}

TEST_CASE("an update says whether the node may now take a job it could not before") {
  node_ledger ledger;
  CHECK(ledger.update(node("a", 4000, 1000)));       // new
  CHECK_FALSE(ledger.update(node("a", 4000, 1500))); // a job placed: less room
  CHECK_FALSE(ledger.update(node("a", 4000, 1500))); // the same
  CHECK(ledger.update(node("a", 4000, 500)));        // a job ended
  auto bigger = node("a", 8000, 4500);               // restarted with more CPUs, same free
  CHECK_FALSE(ledger.update(bigger));
  auto labelled = bigger;
  (*labelled.mutable_labels())["zone"] = "a";
  CHECK(ledger.update(labelled));
  auto drained = labelled;
  drained.set_draining(true);
  CHECK(ledger.update(drained));
  auto down = drained;
  down.set_state(pb::NODE_DOWN);
  CHECK(ledger.update(down));
}

TEST_CASE("the ledger's index places as an index of its nodes() does, reservations included") {
  node_ledger ledger;
  ledger.reset(list({node("a", 4000, 1000), node("b", 2000, 0), node("c", 3000, 2500)}));
  ledger.reserve("b", spec(1500, 10));
  ledger.reserve("a", spec(500, 10));
  ledger.reserve("gone", spec(500, 10)); // unknown: ignored by both
  auto direct = ledger.index();
  claud::sched::placement_index copied{ledger.nodes()};
  for (int64_t cpu : {100, 400, 500, 1000, 2000, 2500, 3000, 4000}) {
    auto s = spec(cpu, 10);
    auto a = direct.place(s);
    auto b = copied.place(s);
    CHECK(a.node_id == b.node_id);
    if (!a.node_id.empty()) {
      direct.reserve(a.node_id, s);
      copied.reserve(b.node_id, s);
    }
  }
}

TEST_CASE("the ledger's index, kept across changes, places as one built afresh from its nodes()") {
  // Random updates (use, size, state, drain, labels, new nodes), reservations and releases; after
  // each, the kept index and a fresh one must place the same jobs on the same nodes with the same
  // reasons. A kept index that missed a change would place on stale free resources.
  for (uint32_t seed = 1; seed <= 20; ++seed) {
    INFO("seed " << seed);
    std::mt19937 random(seed);
    auto pick = [&](int n) { return static_cast<int>(random() % static_cast<unsigned>(n)); };
    node_ledger ledger;
    std::vector<pb::Node> records;
    for (int i = 0; i < 6; ++i) {
      auto n = node(std::string(1, static_cast<char>('a' + i)), 4000, 0);
      n.set_role(pb::ROLE_SLAVE);
      n.set_state(pb::NODE_ALIVE);
      records.push_back(n);
    }
    ledger.reset(list({records[0], records[1], records[2], records[3]}));
    std::vector<uint64_t> held;
    for (int step = 0; step < 200; ++step) {
      const int op = pick(6);
      if (op == 0 && !held.empty()) {
        const auto at = static_cast<size_t>(pick(static_cast<int>(held.size())));
        ledger.release(held[at]);
        held.erase(held.begin() + static_cast<std::ptrdiff_t>(at));
      } else if (op <= 2) {
        const auto& n = records[static_cast<size_t>(pick(6))];
        held.push_back(ledger.reserve(n.id(), spec(100 * (1 + pick(10)), 10 * pick(5))));
      } else {
        auto& n = records[static_cast<size_t>(pick(6))];
        switch (pick(6)) {
        case 0:
          n.set_state(n.state() == pb::NODE_ALIVE ? pb::NODE_DOWN : pb::NODE_ALIVE);
          break;
        case 1:
          n.set_draining(!n.draining());
          break;
        case 2:
          (*n.mutable_labels())["zone"] = pick(2) == 0 ? "x" : "y";
          break;
        case 3:
          n.set_cpu_millis_total(1000 * (1 + pick(8)));
          break;
        default:
          n.set_cpu_millis_used(100 * pick(30));
          n.set_memory_bytes_used(10 * pick(50));
        }
        ledger.update(n);
      }
      auto& kept = ledger.index();
      claud::sched::placement_index fresh{ledger.nodes()};
      for (int64_t cpu : {100, 900, 2500, 4000}) {
        auto s = spec(cpu, 50);
        if (pick(3) == 0) {
          auto* c = s.add_constraints();
          c->set_key("zone");
          c->set_value("x");
        }
        auto a = kept.place(s);
        auto b = fresh.place(s);
        REQUIRE(a.node_id == b.node_id);
        REQUIRE(a.reason == b.reason);
      }
    }
  }
}
