// Retry delays: exponential backoff with equal jitter from a seeded generator, so that
// items retrying together spread out and a run can be replayed.
#pragma once

#include <cstdint>
#include <optional>
#include <random>

namespace visrl::reward {

class Backoff {
 public:
  Backoff(double base_s, double max_s, uint64_t seed);

  // Delay before retry number `retry` (0 = the first): d = min(max_s, base_s * 2^retry), then a
  // uniform draw in [d/2, d] (equal jitter: never less than half, so a lower bound holds).
  // A server's Retry-After replaces it, capped at max_s.
  double delay_s(int64_t retry, std::optional<double> retry_after_s = std::nullopt);

  // The un-jittered d of delay_s, for cooldowns that grow the same way.
  double capped(int64_t retry) const;

 private:
  double base_s_;
  double max_s_;
  std::mt19937_64 rng_;
};

}  // namespace visrl::reward
