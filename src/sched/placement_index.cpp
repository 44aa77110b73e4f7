#include "sched/placement_index.hpp"

#include <algorithm>
#include <stdexcept>
#include <utility>

#include <fmt/format.h>

namespace claud::sched {

namespace {

/// Appends `text` so that no two sequences of texts encode alike: its length, ':', itself.
void append_field(std::string& out, const std::string& text) {
  out += std::to_string(text.size());
  out += ':';
  out += text;
}

/// What admits() reads of `node` as one string: its label set (the same whatever the order of
/// its map), then the users it permits.
std::string admission_key(const pb::Node& node) {
  std::vector<std::pair<const std::string*, const std::string*>> labels;
  labels.reserve(node.labels().size());
  for (const auto& [key, value] : node.labels())
    labels.emplace_back(&key, &value);
  std::sort(labels.begin(), labels.end(),
            [](const auto& a, const auto& b) { return *a.first < *b.first; });
  std::string out;
  for (const auto& [key, value] : labels) {
    append_field(out, *key);
    append_field(out, *value);
  }
  out += '|';
  append_field(out, node.run_as());
  for (const auto& user : node.allowed_users()) // sorted when the node registered
    append_field(out, user);
  return out;
}

/// What a job asks of a node besides resources, as one string: its constraints (in their order:
/// the same set written in another order is cached twice, which costs only memory), then its user.
std::string requirements_key(const pb::JobSpec& spec) {
  std::string out;
  for (const auto& constraint : spec.constraints()) {
    out += constraint.negated() ? '!' : '=';
    append_field(out, constraint.key());
    append_field(out, constraint.value());
  }
  out += '|';
  append_field(out, spec.user());
  return out;
}

/// A record holding only what admits() reads of `node`.
pb::Node admission_of(const pb::Node& node) {
  pb::Node out;
  *out.mutable_labels() = node.labels();
  out.set_run_as(node.run_as());
  *out.mutable_allowed_users() = node.allowed_users();
  return out;
}

} // namespace

placement_index::placement_index(const std::vector<pb::Node>& nodes) {
  std::vector<const pb::Node*> all;
  all.reserve(nodes.size());
  for (const auto& node : nodes)
    all.push_back(&node);
  build(all);
}

placement_index::placement_index(const std::vector<const pb::Node*>& nodes) {
  build(nodes);
}

placement_index::placement_index(const google::protobuf::Map<std::string, pb::Node>& nodes) {
  std::vector<const pb::Node*> all;
  all.reserve(nodes.size());
  for (const auto& [id, node] : nodes)
    all.push_back(&node);
  build(all);
}

void placement_index::build(const std::vector<const pb::Node*>& nodes) {
  std::vector<const pb::Node*> eligible_nodes;
  for (const auto* node : nodes) {
    any_drained_ |= drained(*node);
    if (eligible(*node))
      eligible_nodes.push_back(node);
  }
  // Ranks order the ids, so a tree's ties fall to the smaller id as better_fit's do.
  std::sort(eligible_nodes.begin(), eligible_nodes.end(),
            [](const pb::Node* a, const pb::Node* b) { return a->id() < b->id(); });
  std::unordered_map<std::string, uint32_t> group_of_admission;
  std::vector<std::vector<capacity_tree::entry>> entries; // by group
  nodes_.reserve(eligible_nodes.size());
  by_id_.reserve(eligible_nodes.size());
  for (const auto* node : eligible_nodes) {
    auto rank = static_cast<uint32_t>(nodes_.size());
    if (!by_id_.emplace(node->id(), rank).second)
      throw std::invalid_argument(
          fmt::format("placement_index: node id {} appears twice among the nodes", node->id()));
    auto [found, added] = group_of_admission.emplace(admission_key(*node), groups_.size());
    if (added) {
      all_groups_.push_back(found->second);
      groups_.emplace_back().admission = admission_of(*node);
      entries.emplace_back();
    }
    auto& g = groups_[found->second];
    auto free = sched::free_of(*node);
    auto handle = static_cast<uint32_t>(g.members.size());
    entries[found->second].push_back({free.cpu_millis, free.memory_bytes, rank});
    g.members.push_back(rank);
    nodes_.push_back({node->id(), found->second, handle});
  }
  for (size_t g = 0; g < groups_.size(); ++g)
    groups_[g].tree = capacity_tree{entries[g]};
}

const std::vector<uint32_t>& placement_index::groups_for(const pb::JobSpec& spec) {
  if (spec.constraints_size() == 0 && spec.user().empty())
    return all_groups_;
  auto [found, added] = groups_by_requirements_.try_emplace(requirements_key(spec));
  if (added) {
    for (uint32_t g : all_groups_)
      if (admits(groups_[g].admission, spec))
        found->second.push_back(g);
  }
  return found->second;
}

free_resources placement_index::free_of(const group& g, uint32_t handle) const {
  const auto& key = g.tree.at(handle);
  return {key.cpu_millis, key.memory_bytes, &nodes_[g.members[handle]].id};
}

placement placement_index::place(const pb::JobSpec& spec) {
  const auto& admitted = groups_for(spec);
  const bool spread = spec.strategy() == pb::STRATEGY_SPREAD;
  bool found = false;
  free_resources best{};
  for (uint32_t g : admitted) {
    const auto& tree = groups_[g].tree;
    auto handle = spread ? tree.most_fitting(spec.cpu_millis(), spec.memory_bytes())
                         : tree.least_fitting(spec.cpu_millis(), spec.memory_bytes());
    if (handle == capacity_tree::none)
      continue;
    auto candidate = free_of(groups_[g], handle);
    if (!found || better_fit(candidate, best, spec))
      best = candidate;
    found = true;
  }
  if (found)
    return {*best.id, {}};
  no_fit_facts facts;
  facts.any_eligible = !nodes_.empty();
  facts.any_drained = any_drained_;
  for (uint32_t g : admitted) {
    const auto& tree = groups_[g].tree;
    auto cpu = free_of(groups_[g], tree.most_cpu());
    facts.offer_cpu(cpu.cpu_millis, *cpu.id);
    auto memory = free_of(groups_[g], tree.most_memory());
    facts.offer_memory(memory.memory_bytes, *memory.id);
  }
  return {{}, no_fit_reason(facts, spec)};
}

void placement_index::reserve(const std::string& node_id, const pb::JobSpec& spec) {
  auto found = by_id_.find(node_id);
  if (found == by_id_.end())
    return;
  const auto& node = nodes_[found->second];
  auto& tree = groups_[node.group].tree;
  const auto& key = tree.at(node.handle);
  tree.update(node.handle, key.cpu_millis - spec.cpu_millis(),
              key.memory_bytes - spec.memory_bytes());
}

void placement_index::set_free(const std::string& node_id, int64_t cpu_millis,
                               int64_t memory_bytes) {
  auto found = by_id_.find(node_id);
  if (found == by_id_.end())
    return;
  const auto& node = nodes_[found->second];
  groups_[node.group].tree.update(node.handle, cpu_millis, memory_bytes);
}

} // namespace claud::sched
