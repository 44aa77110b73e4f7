#include "sched/node_ledger.hpp"

#include <algorithm>

namespace claud::sched {

namespace {

bool same_labels(const pb::Node& a, const pb::Node& b) {
  if (a.labels().size() != b.labels().size())
    return false;
  for (const auto& [key, value] : a.labels()) {
    auto i = b.labels().find(key);
    if (i == b.labels().end() || i->second != value)
      return false;
  }
  return true;
}

} // namespace

void node_ledger::reset(const google::protobuf::Map<std::string, pb::Node>& nodes) {
  committed_.clear();
  for (const auto& [id, node] : nodes)
    committed_[id] = node;
}

void node_ledger::reset(const google::protobuf::RepeatedPtrField<pb::Node>& nodes) {
  committed_.clear();
  for (const auto& node : nodes)
    committed_[node.id()] = node;
}

bool node_ledger::update(const pb::Node& node) {
  auto [held, added] = committed_.try_emplace(node.id(), node);
  if (added)
    return true;
  const pb::Node& before = held->second;
  auto free_cpu = [](const pb::Node& n) { return n.cpu_millis_total() - n.cpu_millis_used(); };
  auto free_memory
      = [](const pb::Node& n) { return n.memory_bytes_total() - n.memory_bytes_used(); };
  bool more_room = free_cpu(node) > free_cpu(before) || free_memory(node) > free_memory(before)
                   || node.state() != before.state() || node.draining() != before.draining()
                   || node.role() != before.role() || !same_labels(node, before);
  held->second = node;
  return more_room;
}

uint64_t node_ledger::reserve(const std::string& node_id, const pb::JobSpec& spec) {
  auto handle = ++next_reservation_;
  reservations_[handle] = {node_id, spec.cpu_millis(), spec.memory_bytes()};
  return handle;
}

void node_ledger::release(uint64_t reservation) {
  reservations_.erase(reservation);
}

std::vector<pb::Node> node_ledger::nodes() const {
  std::vector<pb::Node> out; // in id order, as committed_ is
  out.reserve(committed_.size());
  for (const auto& [id, node] : committed_)
    out.push_back(node);
  for (const auto& [handle, held] : reservations_) {
    auto i = std::lower_bound(
        out.begin(), out.end(), held.node_id,
        [](const pb::Node& node, const std::string& id) { return node.id() < id; });
    if (i == out.end() || i->id() != held.node_id)
      continue; // a node the state does not know: the proposal will be refused
    i->set_cpu_millis_used(i->cpu_millis_used() + held.cpu_millis);
    i->set_memory_bytes_used(i->memory_bytes_used() + held.memory_bytes);
  }
  return out;
}

std::vector<const pb::Node*> node_ledger::committed() const {
  std::vector<const pb::Node*> out;
  out.reserve(committed_.size());
  for (const auto& [id, node] : committed_)
    out.push_back(&node);
  return out;
}

placement_index node_ledger::index() const {
  placement_index index{committed()};
  pb::JobSpec held;
  for (const auto& [handle, r] : reservations_) {
    held.set_cpu_millis(r.cpu_millis);
    held.set_memory_bytes(r.memory_bytes);
    index.reserve(r.node_id, held);
  }
  return index;
}

} // namespace claud::sched
