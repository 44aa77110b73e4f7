#pragma once
// The simulator's only source of randomness. Every fault, delay and client action of a run is drawn
// from generators derived from the run's seed, so one seed is one run, on every machine: splitmix64
// is fully specified (std::uniform_int_distribution is not, and differs between standard
// libraries).

#include <cstdint>
#include <stdexcept>
#include <vector>

namespace claud::sim {

class prng {
public:
  explicit prng(uint64_t seed) : state_(seed) {}

  uint64_t next() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }

  /// Uniform in [0, n); n > 0. The modulo bias is irrelevant at the sizes drawn here.
  uint64_t below(uint64_t n) {
    if (n == 0)
      throw std::logic_error("prng::below(0)");
    return next() % n;
  }

  /// Uniform in [low, high].
  int64_t between(int64_t low, int64_t high) {
    if (high < low)
      throw std::logic_error("prng::between: empty range");
    return low + static_cast<int64_t>(below(static_cast<uint64_t>(high - low) + 1));
  }

  /// True with probability `p` (0 never, 1 always).
  bool chance(double p) {
    return p > 0 && unit() < p;
  }

  /// Uniform in [0, 1).
  double unit() {
    return static_cast<double>(next() >> 11) * 0x1.0p-53;
  }

  /// A seed for another generator (a node, the network, a restart): independent streams per use,
  /// so adding a draw in one place does not shift every other draw of the run.
  uint64_t fork() {
    return next() ^ 0x5851f42d4c957f2dull;
  }

  template<class T>
  const T& pick(const std::vector<T>& items) {
    return items.at(below(items.size()));
  }

private:
  uint64_t state_;
};

} // namespace claud::sim
