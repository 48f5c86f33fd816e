// Timing helpers the benchmark programs share.
#pragma once

#include <algorithm>
#include <chrono>
#include <functional>

namespace visrl::bench {

// One untimed warm-up call, then the best of `repeat` timed calls, in seconds.
inline double best_of(int repeat, const std::function<void()>& body) {
  using Clock = std::chrono::steady_clock;
  body();
  double best = 1e30;
  for (int r = 0; r < repeat; ++r) {
    const auto t0 = Clock::now();
    body();
    best = std::min(best, std::chrono::duration<double>(Clock::now() - t0).count());
  }
  return best;
}

}  // namespace visrl::bench
