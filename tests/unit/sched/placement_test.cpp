// placement: where place() puts a job (bin-packing or spreading, ties by id whatever the input
// order, only alive nodes that run jobs and satisfy its label constraints), the reasons it gives
// when it cannot, never_fits_reason, and reserve.
#include "sched/placement.hpp"
#include "state/spec_validation.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <map>
#include <random>
#include <string>
#include <vector>

using namespace claud;
using claud::sched::never_fits_reason;
using claud::sched::place;

namespace {

constexpr int64_t mib = int64_t{1} << 20;
constexpr int64_t gib = int64_t{1} << 30;

struct node_def {
  std::string id;
  int64_t cpu_millis_total;
  int64_t memory_bytes_total;
  int64_t cpu_millis_used = 0;
  int64_t memory_bytes_used = 0;
  pb::NodeRole role = pb::ROLE_SLAVE;
  pb::NodeState state = pb::NODE_ALIVE;
  std::map<std::string, std::string> labels = {};
};

std::vector<pb::Node> nodes(const std::vector<node_def>& defs) {
  std::vector<pb::Node> out;
  for (const auto& d : defs) {
    pb::Node n;
    n.set_id(d.id);
    n.set_role(d.role);
    n.set_state(d.state);
    n.set_cpu_millis_total(d.cpu_millis_total);
    n.set_memory_bytes_total(d.memory_bytes_total);
    n.set_cpu_millis_used(d.cpu_millis_used);
    n.set_memory_bytes_used(d.memory_bytes_used);
    n.mutable_labels()->insert(d.labels.begin(), d.labels.end());
    out.push_back(n);
  }
  return out;
}

pb::JobSpec job(int64_t cpu_millis, int64_t memory_bytes) {
  pb::JobSpec s;
  s.add_argv("true");
  s.set_cpu_millis(cpu_millis);
  s.set_memory_bytes(memory_bytes);
  return s;
}

/// `spec` with constraints written as on the command line: "zone=a", "disk!=hdd".
pb::JobSpec with(pb::JobSpec spec, const std::vector<std::string>& constraints,
                 pb::PlacementStrategy strategy = pb::STRATEGY_BINPACK) {
  for (const auto& text : constraints)
    REQUIRE(state::parse_constraint(text, *spec.add_constraints()) == "");
  spec.set_strategy(strategy);
  return spec;
}

pb::JobSpec spread(int64_t cpu_millis, int64_t memory_bytes) {
  return with(job(cpu_millis, memory_bytes), {}, pb::STRATEGY_SPREAD);
}

/// The chosen node, or "reason: ..." so that a failed comparison shows why.
std::string where(const std::vector<pb::Node>& view, const pb::JobSpec& spec) {
  auto p = place(view, spec);
  return p.node_id.empty() ? "reason: " + p.reason : p.node_id;
}

} // namespace

TEST_CASE("a job goes where it fits, up to the last millicore and byte") {
  auto view = nodes({{"a", 2000, gib, 500, gib / 2}});
  auto p = place(view, job(1500, gib / 2));
  CHECK(p.node_id == "a");
  CHECK(p.reason.empty());
  CHECK(place(view, job(1501, gib / 2)).node_id.empty());
  CHECK(place(view, job(1500, gib / 2 + 1)).node_id.empty());
}

TEST_CASE("bin-packing picks the node left with the least free CPU, then memory") {
  auto view = nodes({{"roomy", 8000, 16 * gib}, {"tight", 2000, 16 * gib}, {"mid", 4000, 2 * gib}});
  CHECK(where(view, job(1000, gib)) == "tight");
  CHECK(where(view, job(3000, gib)) == "mid");
  CHECK(where(view, job(3000, 4 * gib)) == "roomy");
  auto same_cpu = nodes({{"a", 2000, 8 * gib}, {"b", 2000, 2 * gib}, {"c", 2000, 4 * gib}});
  CHECK(where(same_cpu, job(1000, gib)) == "b");
  // Free, not total, counts: "big" has the least left once its use is taken into account.
  auto used = nodes({{"big", 8000, 8 * gib, 7000, 0}, {"small", 2000, 8 * gib}});
  CHECK(where(used, job(1000, gib)) == "big");
}

TEST_CASE("ties go to the smallest id whatever the order of the nodes") {
  auto view = nodes({{"n3", 4000, 4 * gib},
                     {"n10", 4000, 4 * gib},
                     {"n1", 4000, 4 * gib},
                     {"n2", 4000, 4 * gib},
                     {"n0", 8000, 4 * gib}});
  std::mt19937 random(7);
  for (int i = 0; i < 50; ++i) {
    std::shuffle(view.begin(), view.end(), random);
    REQUIRE(where(view, job(1000, gib)) == "n1");
  }
}

TEST_CASE("down nodes and masters are never chosen; dev nodes are") {
  node_def down{"a-down", 1000, gib};
  down.state = pb::NODE_DOWN;
  node_def master{"b-master", 1000, gib};
  master.role = pb::ROLE_MASTER;
  node_def dev{"c-dev", 4000, 4 * gib};
  dev.role = pb::ROLE_DEV;
  CHECK(where(nodes({down, master, dev}), job(1000, gib)) == "c-dev");
  CHECK(where(nodes({down, master}), job(1000, gib))
        == "reason: no slave is alive; start one with `claud --role=slave --join MASTER:PORT`");
  CHECK(where({}, job(1000, gib)).find("no slave is alive") != std::string::npos);
}

TEST_CASE("the reason names the node with the most free CPU or memory") {
  node_def down{"z-down", 64000, 64 * gib};
  down.state = pb::NODE_DOWN;
  node_def master{"m", 64000, 64 * gib};
  master.role = pb::ROLE_MASTER;
  auto view = nodes({{"a", 4000, 8 * gib, 2000, 0},
                     {"b", 4000, 8 * gib, 1000, 6 * gib},
                     {"c", 2000, 4 * gib, 0, 0},
                     down,
                     master});
  CHECK(where(view, job(4000, gib))
        == "reason: needs 4 CPUs and 1 GiB; most free CPU is 3 CPUs on b");
  CHECK(where(view, job(1000, 9 * gib))
        == "reason: needs 1 CPU and 9 GiB; most free memory is 8 GiB on a");
}

TEST_CASE("a tie in the reason names the smallest id") {
  auto view = nodes({{"y", 1000, gib}, {"x", 1000, gib}});
  CHECK(where(view, job(1500, gib / 2))
        == "reason: needs 1.5 CPUs and 512 MiB; most free CPU is 1 CPU on x");
  std::reverse(view.begin(), view.end());
  CHECK(where(view, job(500, 2 * gib))
        == "reason: needs 0.5 CPUs and 2 GiB; most free memory is 1 GiB on x");
}

TEST_CASE("enough in total but on no single node says so") {
  auto view
      = nodes({{"cpu-rich", 8000, 8 * gib, 0, 7 * gib}, {"mem-rich", 8000, 8 * gib, 7000, 0}});
  CHECK(where(view, job(2000, 2 * gib))
        == "reason: needs 2 CPUs and 2 GiB; no single node has both free");
}

TEST_CASE("never_fits_reason refuses only what exceeds every node's total") {
  node_def busy{"busy", 4000, 8 * gib, 4000, 8 * gib};
  node_def down{"down", 16000, 8 * gib};
  down.state = pb::NODE_DOWN;
  node_def master{"master", 64000, 64 * gib};
  master.role = pb::ROLE_MASTER;
  // A full or down node still could run it later: the job waits.
  CHECK(never_fits_reason(nodes({busy}), job(4000, 8 * gib)) == "");
  CHECK(never_fits_reason(nodes({busy, down}), job(16000, gib)) == "");
  CHECK(never_fits_reason(std::vector<pb::Node>{}, job(1000000, 1024 * gib)) == "");
  CHECK(never_fits_reason(nodes({master}), job(1000, gib)) == "");

  auto view = nodes({busy, {"small", 2000, 16 * gib}, master});
  CHECK(never_fits_reason(view, job(6000, gib))
        == "no node could ever run this job: it needs 6 CPUs and 1 GiB, the largest node offers "
           "4 CPUs (busy); ask for less with --cpus");
  CHECK(never_fits_reason(view, job(1000, 20 * gib))
        == "no node could ever run this job: it needs 1 CPU and 20 GiB, the largest node offers "
           "16 GiB (small); ask for less with --memory");
  CHECK(never_fits_reason(view, job(3000, 10 * gib))
        == "no node could ever run this job: it needs 3 CPUs and 10 GiB; no single node offers "
           "both");
}

TEST_CASE("sizes in reasons read naturally from MiB to TiB") {
  auto reason = [](int64_t memory_bytes) {
    return never_fits_reason(nodes({{"a", 1000, memory_bytes}}), job(2000, memory_bytes));
  };
  CHECK(reason(256 * mib).find("needs 2 CPUs and 256 MiB") != std::string::npos);
  CHECK(reason(1536 * mib).find("and 1.5 GiB") != std::string::npos);
  CHECK(reason(1000 * gib).find("and 1000 GiB") != std::string::npos);
  CHECK(reason(2048 * gib).find("and 2 TiB") != std::string::npos);
}

TEST_CASE("reserve takes a job's resources from a node, so a batch sees them gone") {
  auto view = nodes({{"a", 2000, 2 * gib, 500, gib / 2}, {"b", 4000, 4 * gib}});
  auto spec = job(1500, gib);
  REQUIRE(where(view, spec) == "a");
  sched::reserve(view[0], spec);
  CHECK(view[0].cpu_millis_used() == 2000);
  CHECK(view[0].memory_bytes_used() == gib + gib / 2);
  CHECK(view[0].cpu_millis_total() == 2000);
  CHECK(where(view, spec) == "b");
  sched::reserve(view[1], spec);
  sched::reserve(view[1], spec);
  CHECK(where(view, spec) == "reason: needs 1.5 CPUs and 1 GiB; most free CPU is 1 CPU on b");
}

TEST_CASE("constraints keep a job to nodes whose labels match, all of them") {
  using labels = std::map<std::string, std::string>;
  auto view = nodes({{"a", 4000, 4 * gib, 0, 0, pb::ROLE_SLAVE, pb::NODE_ALIVE, {{"zone", "a"}}},
                     {"b", 8000, 8 * gib, 0, 0, pb::ROLE_SLAVE, pb::NODE_ALIVE,
                      labels{{"zone", "b"}, {"disk", "ssd"}}},
                     {"c", 2000, 2 * gib, 0, 0, pb::ROLE_DEV, pb::NODE_ALIVE,
                      labels{{"zone", "b"}, {"disk", "hdd"}}},
                     {"d", 1000, gib}});
  CHECK(where(view, job(1000, gib)) == "d");
  CHECK(where(view, with(job(1000, gib), {"zone=a"})) == "a");
  CHECK(where(view, with(job(1000, gib), {"zone=b"})) == "c");
  CHECK(where(view, with(job(1000, gib), {"zone=b", "disk=ssd"})) == "b");
  // A value must match exactly, and labels are case-sensitive.
  CHECK(where(view, with(job(1000, gib), {"zone=A"})).find("reason: ") == 0);
  // KEY!=VALUE: a node without the key satisfies it too.
  CHECK(where(view, with(job(1000, gib), {"disk!=hdd"})) == "d");
  CHECK(where(view, with(job(1000, gib), {"zone!=a", "disk!=hdd"})) == "d");
  CHECK(where(view, with(job(2000, gib), {"zone!=a", "disk!=hdd"})) == "b");
  CHECK(where(view, with(job(1000, gib), {"zone=b", "disk!=ssd"})) == "c");
}

TEST_CASE("spread picks the node with the most free CPU, then memory; bin-pack the least") {
  auto view = nodes({{"roomy", 8000, 4 * gib, 2000, 0},
                     {"tight", 2000, 16 * gib},
                     {"mid", 4000, 2 * gib},
                     {"full", 16000, 16 * gib, 16000, 0}});
  CHECK(where(view, job(1000, gib)) == "tight");
  CHECK(where(view, spread(1000, gib)) == "roomy");
  CHECK(where(view, spread(1000, 8 * gib)) == "tight");
  auto same_cpu = nodes({{"a", 2000, 8 * gib}, {"b", 2000, 2 * gib}, {"c", 2000, 4 * gib}});
  CHECK(where(same_cpu, spread(1000, gib)) == "a");
  CHECK(where(same_cpu, job(1000, gib)) == "b");
  // Spread with constraints still stays within the matching nodes.
  auto labelled = nodes({{"big", 16000, 16 * gib},
                         {"x1", 2000, gib, 0, 0, pb::ROLE_SLAVE, pb::NODE_ALIVE, {{"zone", "x"}}},
                         {"x2", 4000, gib, 0, 0, pb::ROLE_SLAVE, pb::NODE_ALIVE, {{"zone", "x"}}}});
  CHECK(where(labelled, with(job(1000, gib), {"zone=x"}, pb::STRATEGY_SPREAD)) == "x2");
  CHECK(where(labelled, with(job(1000, gib), {"zone=x"})) == "x1");
}

TEST_CASE("spread ties go to the smallest id whatever the order of the nodes") {
  auto view = nodes({{"n3", 8000, 4 * gib},
                     {"n10", 8000, 4 * gib},
                     {"n1", 8000, 4 * gib},
                     {"n2", 8000, 4 * gib},
                     {"n0", 2000, 4 * gib}});
  std::mt19937 random(11);
  for (int i = 0; i < 50; ++i) {
    std::shuffle(view.begin(), view.end(), random);
    REQUIRE(where(view, spread(1000, gib)) == "n1");
  }
}

TEST_CASE("spread over a batch puts one job on each equal node before doubling up") {
  auto view = nodes({{"s2", 2000, 2 * gib}, {"s1", 2000, 2 * gib}, {"s3", 2000, 2 * gib}});
  std::vector<std::string> order;
  for (int i = 0; i < 4; ++i) {
    auto p = place(view, spread(500, 256 * mib));
    REQUIRE(!p.node_id.empty());
    order.push_back(p.node_id);
    for (auto& node : view)
      if (node.id() == p.node_id)
        sched::reserve(node, spread(500, 256 * mib));
  }
  CHECK(order == std::vector<std::string>{"s1", "s2", "s3", "s1"});
}

TEST_CASE("reasons say when constraints are the cause") {
  auto view
      = nodes({{"s1", 4000, 4 * gib, 0, 0, pb::ROLE_SLAVE, pb::NODE_ALIVE, {{"zone", "b"}}},
               {"s2", 2000, 4 * gib, 1000, 0, pb::ROLE_SLAVE, pb::NODE_ALIVE, {{"zone", "a"}}},
               {"s3", 2000, 4 * gib, 0, 0, pb::ROLE_SLAVE, pb::NODE_DOWN, {{"zone", "c"}}}});
  CHECK(where(view, with(job(1000, 64 * mib), {"zone=c"}))
        == "reason: needs zone=c: no alive node has that label");
  CHECK(where(view, with(job(1000, 64 * mib), {"zone!=a", "zone!=b"}))
        == "reason: needs zone!=a, zone!=b: no alive node satisfies them all");
  CHECK(where(view, with(job(1000, 64 * mib), {"zone!=b"})) == "s2");
  CHECK(where(view, with(job(2000, 64 * mib), {"zone=a"}))
        == "reason: needs 2 CPUs and 64 MiB on a node with zone=a; most free CPU there is 1 CPU "
           "on s2");
  CHECK(where(view, with(job(1000, 5 * gib), {"zone!=b"}))
        == "reason: needs 1 CPU and 5 GiB on a node with zone!=b; most free memory there is 4 GiB "
           "on s2");
  // No alive node at all is said as before, constraints or not.
  auto down = nodes({{"s3", 2000, 4 * gib, 0, 0, pb::ROLE_SLAVE, pb::NODE_DOWN, {{"zone", "c"}}}});
  CHECK(where(down, with(job(1000, 64 * mib), {"zone=c"})).find("no slave is alive")
        != std::string::npos);
}

TEST_CASE("never_fits_reason weighs labels and totals together") {
  auto view = nodes(
      {{"big", 16000, 64 * gib},
       {"a1", 2000, 4 * gib, 2000, 4 * gib, pb::ROLE_SLAVE, pb::NODE_ALIVE, {{"zone", "a"}}},
       {"a2", 4000, 2 * gib, 0, 0, pb::ROLE_SLAVE, pb::NODE_DOWN, {{"zone", "a"}}}});
  // Busy or down matching nodes may still run it later.
  CHECK(never_fits_reason(view, with(job(4000, gib), {"zone=a"})) == "");
  CHECK(never_fits_reason(view, with(job(2000, 4 * gib), {"zone=a"})) == "");
  CHECK(never_fits_reason(view, with(job(1000, gib), {"zone!=a"})) == "");
  CHECK(never_fits_reason(view, with(job(1000, gib), {"zone=b"}))
        == "no node could ever run this job: it needs zone=b, which no known node has; start a "
           "slave with --label zone=b or change --constraint");
  CHECK(never_fits_reason(view, with(job(1000, gib), {"zone=a", "disk=ssd"}))
        == "no node could ever run this job: it needs zone=a, disk=ssd, which no known node "
           "satisfies; start a slave with matching --label or change --constraint");
  // The big node does not count for a job that needs zone=a.
  CHECK(never_fits_reason(view, with(job(8000, gib), {"zone=a"}))
        == "no node could ever run this job: it needs 8 CPUs and 1 GiB on a node with zone=a, the "
           "largest such node offers 4 CPUs (a2); ask for less with --cpus");
  CHECK(never_fits_reason(view, with(job(1000, 8 * gib), {"zone=a"}))
        == "no node could ever run this job: it needs 1 CPU and 8 GiB on a node with zone=a, the "
           "largest such node offers 4 GiB (a1); ask for less with --memory");
  CHECK(never_fits_reason(view, with(job(3000, 3 * gib), {"zone=a"}))
        == "no node could ever run this job: it needs 3 CPUs and 3 GiB on a node with zone=a; no "
           "single such node offers both");
  // No node that runs jobs known yet: the job waits, whatever it needs.
  node_def master{"m", 64000, 64 * gib};
  master.role = pb::ROLE_MASTER;
  CHECK(never_fits_reason(std::vector<pb::Node>{}, with(job(1000, gib), {"zone=b"})) == "");
  CHECK(never_fits_reason(nodes({master}), with(job(1000, gib), {"zone=b"})) == "");
}

TEST_CASE("a job that asks for a user goes only where that user is permitted") {
  auto view = nodes({{"big", 16000, 64 * gib},
                     {"s1", 2000, 4 * gib, 0, 0, pb::ROLE_SLAVE, pb::NODE_ALIVE, {{"zone", "a"}}},
                     {"s2", 4000, 4 * gib, 0, 0, pb::ROLE_SLAVE, pb::NODE_DOWN}});
  for (auto& node : view)
    node.set_run_as("nobody");
  view[1].add_allowed_users("alice");
  view[1].add_allowed_users("bob");
  view[2].add_allowed_users("carol");
  auto as = [](pb::JobSpec spec, const std::string& user) {
    spec.set_user(user);
    return spec;
  };
  // No user, or the one the node runs jobs as: anywhere.
  CHECK(where(view, job(1000, gib)) == "s1");
  CHECK(where(view, as(job(1000, gib), "nobody")) == "s1");
  CHECK(where(view, as(spread(1000, gib), "nobody")) == "big");
  // An allowed user: only there, whatever the strategy.
  CHECK(where(view, as(spread(1000, gib), "alice")) == "s1");
  CHECK(where(view, as(job(1000, gib), "carol"))
        == "reason: needs user carol: no alive node lets jobs run as that user");
  CHECK(where(view, as(with(job(1000, gib), {"zone=b"}), "alice"))
        == "reason: needs zone=b, user alice: no alive node satisfies them all");
  CHECK(where(view, as(job(3000, gib), "alice"))
        == "reason: needs 3 CPUs and 1 GiB on a node with user alice; most free CPU there is 2 "
           "CPUs on s1");
  // At submission: a user no known node permits is refused, one a down node permits waits.
  CHECK(never_fits_reason(view, as(job(1000, gib), "carol")) == "");
  CHECK(never_fits_reason(view, as(job(1000, gib), "dave"))
        == "no node could ever run this job: it asks to run as dave, which no known node "
           "allows; start a slave with --allow-users dave or drop --user");
  CHECK(never_fits_reason(view, as(with(job(1000, gib), {"zone=b"}), "alice"))
        == "no node could ever run this job: it needs zone=b, user alice, which no known node "
           "satisfies; start a slave with matching --label and --allow-users, or change "
           "--constraint or --user");
  CHECK(never_fits_reason(view, as(job(4000, gib), "alice"))
        == "no node could ever run this job: it needs 4 CPUs and 1 GiB on a node with user "
           "alice, the largest such node offers 2 CPUs (s1); ask for less with --cpus");
}

TEST_CASE("drained nodes take no new jobs, and the reason says so when all are drained") {
  auto view = nodes({{"a", 8000, 8 * gib}, {"b", 2000, 2 * gib}});
  view[1].set_draining(true);
  CHECK(where(view, job(1000, gib)) == "a");
  view[0].set_draining(true);
  CHECK(where(view, job(1000, gib))
        == "reason: every alive node is drained; `claud drain NODE --undo` takes one back");
  // A drained node may still be the one that could ever run it: not refused at submission.
  CHECK(never_fits_reason(view, job(1000, gib)).empty());
}
