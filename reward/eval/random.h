// The seeded, portable randomness of the synthetic triples (core/random.h) and the seed of
// each triple. Internal to reward/eval.
#pragma once

#include <cstdint>

#include "core/random.h"

namespace visrl::reward::eval {

using visrl::Random;

// Seed of triple `index` of a task: independent of how many triples are drawn.
inline uint64_t triple_seed(uint64_t seed, int task, int index) {
  uint64_t z =
      seed + 0x9e3779b97f4a7c15ull * (static_cast<uint64_t>(task) * 1000003ull + static_cast<uint64_t>(index) + 1);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;  // splitmix64 finaliser
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

}  // namespace visrl::reward::eval
