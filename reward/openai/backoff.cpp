#include "reward/openai/backoff.h"

#include <algorithm>
#include <cmath>

namespace visrl::reward {

Backoff::Backoff(double base_s, double max_s, uint64_t seed)
    : base_s_(std::max(0.0, base_s)), max_s_(std::max(0.0, max_s)), rng_(seed) {}

double Backoff::capped(int64_t retry) const {
  // 2^60 overflows nothing in double and is far beyond any cap.
  const double factor = std::ldexp(1.0, static_cast<int>(std::clamp<int64_t>(retry, 0, 60)));
  return std::min(max_s_, base_s_ * factor);
}

double Backoff::delay_s(int64_t retry, std::optional<double> retry_after_s) {
  if (retry_after_s) return std::clamp(*retry_after_s, 0.0, max_s_);
  const double d = capped(retry);
  return std::uniform_real_distribution<double>(d / 2, std::nextafter(d, d + 1))(rng_);
}

}  // namespace visrl::reward
