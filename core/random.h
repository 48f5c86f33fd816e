// Seeded randomness with portable mappings: std::uniform_*_distribution differ between
// standard libraries, these do not, so a seeded data set is the same on every platform.
// Header-only, no dependencies.
#pragma once

#include <cstdint>
#include <random>
#include <utility>
#include <vector>

namespace visrl {

class Random {
 public:
  explicit Random(uint64_t seed) : engine_(seed) {}

  // Integer in [lo, hi] (modulo bias below 2^-40 for the small ranges used here).
  int integer(int lo, int hi) {
    const uint64_t span = static_cast<uint64_t>(static_cast<int64_t>(hi) - lo + 1);
    return lo + static_cast<int>(engine_() % span);
  }
  // Real in [lo, hi).
  double real(double lo, double hi) { return lo + (hi - lo) * static_cast<double>(engine_() >> 11) * 0x1.0p-53; }
  bool chance(double p) { return real(0.0, 1.0) < p; }
  template <typename T>
  const T& pick(const std::vector<T>& items) {
    return items[static_cast<size_t>(integer(0, static_cast<int>(items.size()) - 1))];
  }
  // Fisher-Yates with the mapping above.
  template <typename T>
  void shuffle(std::vector<T>& items) {
    for (int i = static_cast<int>(items.size()) - 1; i > 0; --i) std::swap(items[i], items[integer(0, i)]);
  }

 private:
  std::mt19937_64 engine_;
};

// splitmix64: spreads related seeds (seed + index) into unrelated generator states.
inline uint64_t mix_seed(uint64_t z) {
  z += 0x9e3779b97f4a7c15ull;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

}  // namespace visrl
