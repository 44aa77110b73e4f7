#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace claud::sched {

/// Nodes' free capacity in the order (free CPU, free memory, rank), where `rank` orders the nodes
/// as their ids do, answering the two questions placement asks of a group of nodes:
/// least_fitting (bin-packing) and most_fitting (spreading), plus the node with the most free CPU
/// and the one with the most free memory (for the reason when nothing fits).
///
/// A treap whose priorities hash the rank, so its shape is deterministic (no random device). Each
/// subtree keeps its member with the most free CPU and the one with the most free memory; the
/// latter guides the searches past nodes with enough CPU but too little memory, so no search
/// walks them one by one. With n entries, every operation is O(log n) expected (the depth of a
/// treap); most_cpu and most_memory are O(1).
class capacity_tree {
public:
  /// Returned by a search that finds nothing.
  static constexpr uint32_t none = UINT32_MAX;

  struct entry {
    int64_t cpu_millis;
    int64_t memory_bytes;
    uint32_t rank; // distinct within one tree
  };

  capacity_tree() = default;

  /// Holds `entries`; an entry's handle is its position there. Builds in O(n log n) for the sort,
  /// then O(n).
  explicit capacity_tree(const std::vector<entry>& entries);

  /// Sets the free resources of the entry `handle`, moving it to its new place in the order.
  void update(uint32_t handle, int64_t cpu_millis, int64_t memory_bytes);

  const entry& at(uint32_t handle) const {
    return items_[handle].key;
  }

  size_t size() const {
    return items_.size();
  }

  /// The least entry in the order with at least `cpu_millis` and `memory_bytes` free, or none.
  uint32_t least_fitting(int64_t cpu_millis, int64_t memory_bytes) const;

  /// The entry with at least `cpu_millis` and `memory_bytes` free that has the most CPU, then the
  /// most memory, then the least rank; none if no entry has both.
  uint32_t most_fitting(int64_t cpu_millis, int64_t memory_bytes) const;

  /// The entry with the most free CPU, ties to the least rank; none when empty.
  uint32_t most_cpu() const;

  /// The entry with the most free memory, ties to the least rank; none when empty.
  uint32_t most_memory() const;

private:
  struct item {
    entry key;
    uint64_t priority;
    uint32_t left;
    uint32_t right;
    uint32_t most_cpu;    // in this subtree
    uint32_t most_memory; // in this subtree
  };

  bool less(uint32_t a, uint32_t b) const;
  void pull(uint32_t t);
  void split(uint32_t t, uint32_t pivot, uint32_t& below, uint32_t& rest);
  uint32_t merge(uint32_t low, uint32_t high);
  void insert(uint32_t x);
  void pull_all();
  uint32_t erase(uint32_t t, uint32_t x);
  uint32_t first_fitting(uint32_t t, int64_t cpu_millis, int64_t memory_bytes) const;
  uint32_t last_with_memory(int64_t memory_bytes) const;
  uint32_t first_at_least(int64_t cpu_millis, int64_t memory_bytes) const;

  std::vector<item> items_; // by handle
  uint32_t root_ = none;
};

} // namespace claud::sched
