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
  index_.reset();
  committed_view_.reset();
}

void node_ledger::reset(const google::protobuf::RepeatedPtrField<pb::Node>& nodes) {
  committed_.clear();
  for (const auto& node : nodes)
    committed_[node.id()] = node;
  index_.reset();
  committed_view_.reset();
}

bool node_ledger::update(const pb::Node& node) {
  auto [held, added] = committed_.try_emplace(node.id(), node);
  if (added) {
    index_.reset();
    committed_view_.reset();
    return true;
  }
  const pb::Node& before = held->second;
  auto free_cpu = [](const pb::Node& n) { return n.cpu_millis_total() - n.cpu_millis_used(); };
  auto free_memory
      = [](const pb::Node& n) { return n.memory_bytes_total() - n.memory_bytes_used(); };
  const bool new_shape = node.state() != before.state() || node.draining() != before.draining()
                         || node.role() != before.role() || !same_labels(node, before);
  const bool more_room
      = new_shape || free_cpu(node) > free_cpu(before) || free_memory(node) > free_memory(before);
  held->second = node;
  if (new_shape)
    index_.reset(); // it may join or leave the eligible nodes, or another label group
  else
    refresh_free(node.id());
  return more_room;
}

uint64_t node_ledger::reserve(const std::string& node_id, const pb::JobSpec& spec) {
  auto handle = ++next_reservation_;
  reservations_[handle] = {node_id, spec.cpu_millis(), spec.memory_bytes()};
  auto& held = held_by_node_[node_id];
  held.cpu_millis += spec.cpu_millis();
  held.memory_bytes += spec.memory_bytes();
  if (index_)
    index_->reserve(node_id, spec);
  return handle;
}

void node_ledger::release(uint64_t reservation) {
  auto found = reservations_.find(reservation);
  if (found == reservations_.end())
    return;
  const std::string node_id = found->second.node_id;
  auto held = held_by_node_.find(node_id);
  held->second.cpu_millis -= found->second.cpu_millis;
  held->second.memory_bytes -= found->second.memory_bytes;
  reservations_.erase(found);
  if (held->second.cpu_millis == 0 && held->second.memory_bytes == 0)
    held_by_node_.erase(held);
  refresh_free(node_id);
}

void node_ledger::refresh_free(const std::string& node_id) {
  if (!index_)
    return;
  auto node = committed_.find(node_id);
  if (node == committed_.end())
    return; // not indexed either
  auto free = free_of(node->second);
  if (auto held = held_by_node_.find(node_id); held != held_by_node_.end()) {
    free.cpu_millis -= held->second.cpu_millis;
    free.memory_bytes -= held->second.memory_bytes;
  }
  index_->set_free(node_id, free.cpu_millis, free.memory_bytes);
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

const std::vector<const pb::Node*>& node_ledger::committed() {
  if (committed_view_)
    return *committed_view_;
  auto& out = committed_view_.emplace();
  out.reserve(committed_.size());
  for (const auto& [id, node] : committed_)
    out.push_back(&node);
  return out;
}

placement_index& node_ledger::index() {
  if (index_)
    return *index_;
  index_.emplace(committed());
  pb::JobSpec held;
  for (const auto& [node_id, total] : held_by_node_) {
    held.set_cpu_millis(total.cpu_millis);
    held.set_memory_bytes(total.memory_bytes);
    index_->reserve(node_id, held);
  }
  return *index_;
}

} // namespace claud::sched
