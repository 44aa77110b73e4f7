// placement_index: on many seeded random clusters (sizes, label sets, dead, draining and master
// nodes, fractional CPUs, used resources, many ties) and random job streams (bin-packing and
// spreading, constraints, users, place then reserve), the index answers exactly as the linear
// place() does at every step: same node, same reason.
#include "sched/placement.hpp"
#include "sched/placement_index.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

using namespace claud;

namespace {

constexpr int64_t mib = int64_t{1} << 20;
constexpr int64_t gib = int64_t{1} << 30;

using rng_t = std::mt19937_64;

template<class T>
const T& pick(rng_t& rng, const std::vector<T>& from) {
  return from[std::uniform_int_distribution<size_t>(0, from.size() - 1)(rng)];
}

bool chance(rng_t& rng, double p) {
  return std::bernoulli_distribution(p)(rng);
}

const std::vector<std::string> label_keys = {"zone", "disk", "gpu", "rack"};
const std::vector<std::string> label_values = {"a", "b", "c"};
const std::vector<std::string> users = {"nobody", "alice", "bob", "root"};

/// A cluster drawn from `rng`: few distinct shapes so that ties are common, ids whose text order
/// differs from their number's, and every kind of node place() must skip.
std::vector<pb::Node> random_cluster(rng_t& rng) {
  const auto size = pick(rng, std::vector<size_t>{0, 1, 2, 3, 8, 30, 120, 400});
  const bool unique_labels = chance(rng, 0.15); // one group per node: the index's worst case
  const double dead = pick(rng, std::vector<double>{0.0, 0.0, 0.1, 0.5, 1.0});
  const double draining = pick(rng, std::vector<double>{0.0, 0.0, 0.1, 0.5, 1.0});
  std::vector<pb::Node> nodes(size);
  for (size_t i = 0; i < size; ++i) {
    auto& node = nodes[i];
    node.set_id("n" + std::to_string(i));
    node.set_role(chance(rng, 0.9)
                      ? pb::ROLE_SLAVE
                      : pick(rng, std::vector<pb::NodeRole>{pb::ROLE_DEV, pb::ROLE_MASTER}));
    node.set_state(chance(rng, dead) ? pb::NODE_DOWN : pb::NODE_ALIVE);
    node.set_draining(chance(rng, draining));
    node.set_cpu_millis_total(pick(rng, std::vector<int64_t>{500, 1000, 1500, 2000, 4000, 6250}));
    node.set_memory_bytes_total(pick(rng, std::vector<int64_t>{512 * mib, gib, 4 * gib, 16 * gib}));
    if (chance(rng, 0.3)) {
      node.set_cpu_millis_used(
          std::uniform_int_distribution<int64_t>(0, node.cpu_millis_total() / 250)(rng) * 250);
      node.set_memory_bytes_used(
          std::uniform_int_distribution<int64_t>(0, node.memory_bytes_total() / gib)(rng) * gib);
    }
    for (const auto& key : label_keys)
      if (chance(rng, 0.4))
        (*node.mutable_labels())[key] = pick(rng, label_values);
    if (unique_labels)
      (*node.mutable_labels())["host"] = node.id();
    node.set_run_as(pick(rng, users));
    for (const auto& user : users) // sorted, as a slave registers them
      if (user != node.run_as() && chance(rng, 0.2))
        node.add_allowed_users(user);
    std::sort(node.mutable_allowed_users()->begin(), node.mutable_allowed_users()->end());
  }
  std::shuffle(nodes.begin(), nodes.end(), rng);
  return nodes;
}

pb::JobSpec random_job(rng_t& rng) {
  pb::JobSpec spec;
  spec.add_argv("true");
  spec.set_cpu_millis(pick(rng, std::vector<int64_t>{100, 100, 250, 500, 1000, 1500, 4000, 7000}));
  spec.set_memory_bytes(
      pick(rng, std::vector<int64_t>{64 * mib, 64 * mib, 512 * mib, gib, 4 * gib, 20 * gib}));
  spec.set_strategy(chance(rng, 0.5) ? pb::STRATEGY_SPREAD : pb::STRATEGY_BINPACK);
  auto constraints = pick(rng, std::vector<int>{0, 0, 0, 1, 1, 2, 3});
  for (int i = 0; i < constraints; ++i) {
    auto& constraint = *spec.add_constraints();
    constraint.set_key(chance(rng, 0.9) ? pick(rng, label_keys) : "nowhere");
    constraint.set_value(pick(rng, label_values));
    constraint.set_negated(chance(rng, 0.3));
  }
  if (chance(rng, 0.3))
    spec.set_user(chance(rng, 0.9) ? pick(rng, users) : "nosuchuser");
  return spec;
}

std::string describe(const pb::JobSpec& spec) {
  std::string out = std::to_string(spec.cpu_millis()) + " millis, "
                    + std::to_string(spec.memory_bytes() / mib) + " MiB, "
                    + (spec.strategy() == pb::STRATEGY_SPREAD ? "spread" : "binpack");
  for (const auto& constraint : spec.constraints())
    out += ", " + constraint.key() + (constraint.negated() ? "!=" : "=") + constraint.value();
  if (!spec.user().empty())
    out += ", user " + spec.user();
  return out;
}

pb::Node* find(std::vector<pb::Node>& nodes, const std::string& id) {
  auto found = std::find_if(nodes.begin(), nodes.end(),
                            [&](const pb::Node& node) { return node.id() == id; });
  return found == nodes.end() ? nullptr : &*found;
}

} // namespace

TEST_CASE("the index places every job where the linear scan does, with the same reason") {
  size_t placed = 0;
  size_t refused = 0;
  for (uint64_t seed = 1; seed <= 1000; ++seed) {
    CAPTURE(seed);
    rng_t rng{seed};
    auto nodes = random_cluster(rng);
    google::protobuf::Map<std::string, pb::Node> by_id;
    for (const auto& node : nodes)
      by_id[node.id()] = node;
    // Both constructors: the scheduler indexes the state's map, the bench a vector.
    auto index = seed % 2 == 0 ? sched::placement_index{nodes} : sched::placement_index{by_id};
    const auto steps = std::uniform_int_distribution<int>(1, 300)(rng);
    for (int step = 0; step < steps; ++step) {
      CAPTURE(step);
      auto spec = random_job(rng);
      INFO("job: " << describe(spec));
      auto expected = sched::place(nodes, spec);
      auto got = index.place(spec);
      REQUIRE(got.node_id == expected.node_id);
      REQUIRE(got.reason == expected.reason);
      if (!expected.node_id.empty()) {
        ++placed;
        sched::reserve(*find(nodes, expected.node_id), spec);
        index.reserve(expected.node_id, spec);
      } else {
        ++refused;
      }
      // Now and then a reservation place() did not choose: on any node, eligible or not, even
      // past its capacity (free resources below zero), or on an id the cluster does not have.
      if (chance(rng, 0.1) && !nodes.empty()) {
        auto& node = pick(rng, nodes);
        auto other = random_job(rng);
        sched::reserve(*find(nodes, node.id()), other);
        index.reserve(node.id(), other);
      }
      if (chance(rng, 0.02))
        index.reserve("no-such-node", spec);
    }
  }
  // The streams exercise both outcomes plenty.
  CHECK(placed > 10000);
  CHECK(refused > 10000);
}

TEST_CASE("the index refuses a view with one id twice") {
  pb::Node node;
  node.set_id("a");
  node.set_role(pb::ROLE_SLAVE);
  node.set_state(pb::NODE_ALIVE);
  CHECK_THROWS_AS(sched::placement_index(std::vector<pb::Node>{node, node}), std::invalid_argument);
}
