#include "trainer/data/prompt_sampler.h"

#include <numeric>
#include <random>

#include "core/error.h"

namespace visrl::trainer {

PromptSampler::PromptSampler(int64_t num_items, uint64_t seed, bool shuffle, SamplerState state)
    : num_items_(num_items), seed_(seed), shuffle_(shuffle), state_(state) {
  if (num_items <= 0) fail(ErrorKind::runtime, "PromptSampler: no items");
  if (state.cursor < 0 || state.cursor > num_items) {
    fail(ErrorKind::runtime, "PromptSampler: cursor {} outside [0, {}]", state.cursor, num_items);
  }
  order_ = epoch_order(state_.epoch);
}

std::vector<int64_t> PromptSampler::epoch_order(int64_t epoch) const {
  std::vector<int64_t> order(num_items_);
  std::iota(order.begin(), order.end(), 0);
  if (!shuffle_) return order;
  // Fisher-Yates with our own index draws: std::shuffle's use of the engine is
  // implementation-defined, and the order must not change with the standard library.
  std::mt19937_64 rng(seed_ * 0x9E3779B97F4A7C15ull + static_cast<uint64_t>(epoch) + 1);
  for (int64_t i = num_items_ - 1; i > 0; --i) {
    const auto j = static_cast<int64_t>(rng() % static_cast<uint64_t>(i + 1));
    std::swap(order[i], order[j]);
  }
  return order;
}

std::vector<int64_t> PromptSampler::next(int64_t n) {
  std::vector<int64_t> out;
  out.reserve(n);
  while (static_cast<int64_t>(out.size()) < n) {
    if (state_.cursor == num_items_) {
      ++state_.epoch;
      state_.cursor = 0;
      order_ = epoch_order(state_.epoch);
    }
    out.push_back(order_[state_.cursor++]);
  }
  return out;
}

}  // namespace visrl::trainer
