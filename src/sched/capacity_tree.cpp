#include "sched/capacity_tree.hpp"

#include <algorithm>
#include <tuple>
#include <utility>

namespace claud::sched {

namespace {

/// splitmix64's finalizer: spreads ranks into treap priorities, the same on every run.
uint64_t priority_of(uint32_t rank) {
  uint64_t z = rank + 0x9e3779b97f4a7c15ULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

/// The tree's order: free CPU, then free memory, then rank.
bool key_less(const capacity_tree::entry& x, const capacity_tree::entry& y) {
  return std::tie(x.cpu_millis, x.memory_bytes, x.rank)
         < std::tie(y.cpu_millis, y.memory_bytes, y.rank);
}

} // namespace

capacity_tree::capacity_tree(const std::vector<entry>& entries) {
  items_.reserve(entries.size());
  // Sorted by key with their handles; sorting the keys themselves, not handles into items_, keeps
  // the comparisons in the cache.
  std::vector<std::pair<entry, uint32_t>> sorted;
  sorted.reserve(entries.size());
  for (const auto& e : entries) {
    auto handle = static_cast<uint32_t>(items_.size());
    items_.push_back({e, priority_of(e.rank), none, none, handle, handle});
    sorted.emplace_back(e, handle);
  }
  std::sort(sorted.begin(), sorted.end(),
            [](const auto& a, const auto& b) { return key_less(a.first, b.first); });
  // The treap of sorted keys is their Cartesian tree by priority: keep its right spine on a
  // stack; each key takes the spine's lower-priority tail as its left subtree.
  std::vector<uint32_t> spine;
  for (const auto& keyed : sorted) {
    uint32_t x = keyed.second;
    uint32_t below = none;
    while (!spine.empty() && items_[spine.back()].priority < items_[x].priority) {
      below = spine.back();
      spine.pop_back();
    }
    items_[x].left = below;
    if (!spine.empty())
      items_[spine.back()].right = x;
    spine.push_back(x);
  }
  root_ = spine.empty() ? none : spine.front();
  pull_all();
}

/// Sets every subtree's most_cpu and most_memory, children before parents.
void capacity_tree::pull_all() {
  std::vector<uint32_t> top_down;
  top_down.reserve(items_.size());
  if (root_ != none)
    top_down.push_back(root_);
  for (size_t i = 0; i < top_down.size(); ++i)
    for (uint32_t child : {items_[top_down[i]].left, items_[top_down[i]].right})
      if (child != none)
        top_down.push_back(child);
  for (auto t = top_down.rbegin(); t != top_down.rend(); ++t)
    pull(*t);
}

void capacity_tree::update(uint32_t handle, int64_t cpu_millis, int64_t memory_bytes) {
  root_ = erase(root_, handle);
  items_[handle].key.cpu_millis = cpu_millis;
  items_[handle].key.memory_bytes = memory_bytes;
  insert(handle);
}

uint32_t capacity_tree::least_fitting(int64_t cpu_millis, int64_t memory_bytes) const {
  return first_fitting(root_, cpu_millis, memory_bytes);
}

uint32_t capacity_tree::most_fitting(int64_t cpu_millis, int64_t memory_bytes) const {
  // The last entry with enough memory has the most CPU, then memory, of all that have enough
  // memory; the first entry with exactly its CPU and memory has the least rank among them.
  auto last = last_with_memory(memory_bytes);
  if (last == none || items_[last].key.cpu_millis < cpu_millis)
    return none;
  return first_at_least(items_[last].key.cpu_millis, items_[last].key.memory_bytes);
}

uint32_t capacity_tree::most_cpu() const {
  return root_ == none ? none : items_[root_].most_cpu;
}

uint32_t capacity_tree::most_memory() const {
  return root_ == none ? none : items_[root_].most_memory;
}

bool capacity_tree::less(uint32_t a, uint32_t b) const {
  return key_less(items_[a].key, items_[b].key);
}

void capacity_tree::pull(uint32_t t) {
  auto& node = items_[t];
  node.most_cpu = t;
  node.most_memory = t;
  for (uint32_t child : {node.left, node.right}) {
    if (child == none)
      continue;
    const auto& best_cpu = items_[items_[child].most_cpu].key;
    const auto& mine_cpu = items_[node.most_cpu].key;
    if (best_cpu.cpu_millis > mine_cpu.cpu_millis
        || (best_cpu.cpu_millis == mine_cpu.cpu_millis && best_cpu.rank < mine_cpu.rank))
      node.most_cpu = items_[child].most_cpu;
    const auto& best_memory = items_[items_[child].most_memory].key;
    const auto& mine_memory = items_[node.most_memory].key;
    if (best_memory.memory_bytes > mine_memory.memory_bytes
        || (best_memory.memory_bytes == mine_memory.memory_bytes
            && best_memory.rank < mine_memory.rank))
      node.most_memory = items_[child].most_memory;
  }
}

void capacity_tree::split(uint32_t t, uint32_t pivot, uint32_t& below, uint32_t& rest) {
  if (t == none) {
    below = rest = none;
    return;
  }
  if (less(t, pivot)) {
    split(items_[t].right, pivot, items_[t].right, rest);
    below = t;
  } else {
    split(items_[t].left, pivot, below, items_[t].left);
    rest = t;
  }
  pull(t);
}

uint32_t capacity_tree::merge(uint32_t low, uint32_t high) {
  if (low == none)
    return high;
  if (high == none)
    return low;
  if (items_[low].priority > items_[high].priority) {
    items_[low].right = merge(items_[low].right, high);
    pull(low);
    return low;
  }
  items_[high].left = merge(low, items_[high].left);
  pull(high);
  return high;
}

void capacity_tree::insert(uint32_t x) {
  items_[x].left = items_[x].right = none;
  pull(x);
  uint32_t below = none;
  uint32_t rest = none;
  split(root_, x, below, rest);
  root_ = merge(merge(below, x), rest);
}

uint32_t capacity_tree::erase(uint32_t t, uint32_t x) {
  if (t == x)
    return merge(items_[t].left, items_[t].right);
  if (less(x, t))
    items_[t].left = erase(items_[t].left, x);
  else
    items_[t].right = erase(items_[t].right, x);
  pull(t);
  return t;
}

// O(depth): the search follows the path to the first entry with enough CPU; off that path it
// enters a subtree only when the subtree's most free memory is enough, and then succeeds there.
uint32_t capacity_tree::first_fitting(uint32_t t, int64_t cpu_millis, int64_t memory_bytes) const {
  if (t == none || items_[items_[t].most_memory].key.memory_bytes < memory_bytes)
    return none;
  const auto& node = items_[t];
  if (node.key.cpu_millis < cpu_millis)
    return first_fitting(node.right, cpu_millis, memory_bytes);
  auto found = first_fitting(node.left, cpu_millis, memory_bytes);
  if (found != none)
    return found;
  if (node.key.memory_bytes >= memory_bytes)
    return t;
  return first_fitting(node.right, cpu_millis, memory_bytes);
}

uint32_t capacity_tree::last_with_memory(int64_t memory_bytes) const {
  auto enough = [&](uint32_t t) {
    return t != none && items_[items_[t].most_memory].key.memory_bytes >= memory_bytes;
  };
  uint32_t t = root_;
  if (!enough(t))
    return none;
  // Invariant: the subtree at t holds an entry with enough memory.
  while (true) {
    const auto& node = items_[t];
    if (enough(node.right))
      t = node.right;
    else if (node.key.memory_bytes >= memory_bytes)
      return t;
    else
      t = node.left;
  }
}

uint32_t capacity_tree::first_at_least(int64_t cpu_millis, int64_t memory_bytes) const {
  uint32_t found = none;
  for (uint32_t t = root_; t != none;) {
    const auto& key = items_[t].key;
    if (key.cpu_millis > cpu_millis
        || (key.cpu_millis == cpu_millis && key.memory_bytes >= memory_bytes)) {
      found = t;
      t = items_[t].left;
    } else {
      t = items_[t].right;
    }
  }
  return found;
}

} // namespace claud::sched
