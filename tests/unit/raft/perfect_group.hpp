#pragma once
// Masters over a perfect network for raft's unit tests: every ready is persisted at once and its
// messages delivered, until nothing moves. A master can be cut off (its messages, both ways, are
// dropped) or added later with a membership of its own.

#include <catch2/catch.hpp>

#include <map>
#include <set>
#include <string>
#include <vector>

#include "raft/raft_node.hpp"

namespace claud::raft::testing {

inline raft_config config_of(const std::string& id, std::vector<std::string> voters) {
  raft_config c;
  c.id = id;
  c.voters = std::move(voters);
  return c;
}

inline raft_node fresh(const std::string& id, std::vector<std::string> voters, uint64_t seed) {
  return raft_node(config_of(id, std::move(voters)), pb::HardState{}, pb::Snapshot{}, {}, seed);
}

struct perfect_group {
  std::map<std::string, raft_node> nodes;
  std::map<std::string, std::vector<pb::LogEntry>> applied;
  std::set<std::string> cut_off;

  /// `ids` all start as the voters of a new cluster.
  explicit perfect_group(const std::vector<std::string>& ids) {
    for (const auto& id : ids)
      add(id, ids);
  }

  void add(const std::string& id, const std::vector<std::string>& bootstrap_voters) {
    nodes.emplace(id, fresh(id, bootstrap_voters, nodes.size() + 1));
  }

  void settle() {
    for (bool moved = true; moved;) {
      moved = false;
      for (auto& [id, node] : nodes) {
        if (!node.has_ready())
          continue;
        moved = true;
        auto rd = node.take_ready();
        for (const auto& e : rd.committed)
          applied[id].push_back(e);
        node.advance(rd);
        for (const auto& m : rd.messages)
          if (!cut_off.count(id) && !cut_off.count(m.to()) && nodes.count(m.to()))
            nodes.at(m.to()).step(m);
      }
    }
  }

  void tick_all() {
    for (auto& [id, node] : nodes)
      node.tick();
    settle();
  }

  /// Ticks until `done` holds, at most `max_ticks`; returns done().
  template<typename Predicate>
  bool tick_until(Predicate done, int max_ticks = 200) {
    for (int i = 0; i < max_ticks && !done(); ++i)
      tick_all();
    return done();
  }

  std::vector<std::string> leaders() const {
    std::vector<std::string> out;
    for (const auto& [id, node] : nodes)
      if (node.current_role() == role::leader && !cut_off.count(id))
        out.push_back(id);
    return out;
  }

  raft_node& leader() {
    REQUIRE(tick_until([&] { return leaders().size() == 1; }));
    return nodes.at(leaders()[0]);
  }
};

} // namespace claud::raft::testing
