// capacity_tree: its four searches agree with a brute-force scan of the entries, through many
// seeded random updates (with ties in CPU and memory, and negative free resources).
#include "sched/capacity_tree.hpp"

#include <catch2/catch.hpp>

#include <random>
#include <vector>

using claud::sched::capacity_tree;

namespace {

using entry = capacity_tree::entry;

bool key_less(const entry& a, const entry& b) {
  if (a.cpu_millis != b.cpu_millis)
    return a.cpu_millis < b.cpu_millis;
  if (a.memory_bytes != b.memory_bytes)
    return a.memory_bytes < b.memory_bytes;
  return a.rank < b.rank;
}

/// The entry with the most of `field`, ties to the least rank; `none` when empty.
template<class Field>
uint32_t most(const std::vector<entry>& entries, Field field) {
  uint32_t best = capacity_tree::none;
  for (uint32_t i = 0; i < entries.size(); ++i)
    if (best == capacity_tree::none || field(entries[i]) > field(entries[best])
        || (field(entries[i]) == field(entries[best]) && entries[i].rank < entries[best].rank))
      best = i;
  return best;
}

uint32_t least_fitting(const std::vector<entry>& entries, int64_t cpu, int64_t memory) {
  uint32_t best = capacity_tree::none;
  for (uint32_t i = 0; i < entries.size(); ++i)
    if (entries[i].cpu_millis >= cpu && entries[i].memory_bytes >= memory
        && (best == capacity_tree::none || key_less(entries[i], entries[best])))
      best = i;
  return best;
}

uint32_t most_fitting(const std::vector<entry>& entries, int64_t cpu, int64_t memory) {
  uint32_t best = capacity_tree::none;
  for (uint32_t i = 0; i < entries.size(); ++i) {
    const auto& e = entries[i];
    if (e.cpu_millis < cpu || e.memory_bytes < memory)
      continue;
    if (best == capacity_tree::none)
      best = i;
    const auto& b = entries[best];
    if (e.cpu_millis != b.cpu_millis       ? e.cpu_millis > b.cpu_millis
        : e.memory_bytes != b.memory_bytes ? e.memory_bytes > b.memory_bytes
                                           : e.rank < b.rank)
      best = i;
  }
  return best;
}

} // namespace

TEST_CASE("the tree's searches agree with a scan of its entries") {
  for (uint64_t seed = 1; seed <= 200; ++seed) {
    CAPTURE(seed);
    std::mt19937_64 rng{seed};
    std::uniform_int_distribution<int64_t> amount(-2, 12);
    auto size = std::uniform_int_distribution<uint32_t>(0, 300)(rng);
    std::vector<uint32_t> ranks(size);
    for (uint32_t i = 0; i < size; ++i)
      ranks[i] = i * 3;
    std::shuffle(ranks.begin(), ranks.end(), rng);
    std::vector<entry> entries;
    for (uint32_t i = 0; i < size; ++i)
      entries.push_back({amount(rng) * 100, amount(rng), ranks[i]});
    capacity_tree tree{entries};
    REQUIRE(tree.size() == size);
    for (int step = 0; step < 200; ++step) {
      CAPTURE(step);
      auto cpu = amount(rng) * 100;
      auto memory = amount(rng);
      REQUIRE(tree.least_fitting(cpu, memory) == least_fitting(entries, cpu, memory));
      REQUIRE(tree.most_fitting(cpu, memory) == most_fitting(entries, cpu, memory));
      REQUIRE(tree.most_cpu() == most(entries, [](const entry& e) { return e.cpu_millis; }));
      REQUIRE(tree.most_memory() == most(entries, [](const entry& e) { return e.memory_bytes; }));
      if (size > 0) {
        auto handle = std::uniform_int_distribution<uint32_t>(0, size - 1)(rng);
        entries[handle].cpu_millis = amount(rng) * 100;
        entries[handle].memory_bytes = amount(rng);
        tree.update(handle, entries[handle].cpu_millis, entries[handle].memory_bytes);
        REQUIRE(tree.at(handle).cpu_millis == entries[handle].cpu_millis);
      }
    }
  }
}
