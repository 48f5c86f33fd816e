// Which items each step trains on: epochs over the data set, each in a seeded shuffled order
// (the same on every rank and after a resume), handed out `prompts_per_step` at a time.
#pragma once

#include <cstdint>
#include <vector>

namespace visrl::trainer {

struct SamplerState {
  int64_t epoch = 0;   // epochs completed
  int64_t cursor = 0;  // items of the current epoch already handed out
};

class PromptSampler {
 public:
  PromptSampler(int64_t num_items, uint64_t seed, bool shuffle, SamplerState state = {});

  // The next n item indices, continuing into the next epoch when this one runs out.
  std::vector<int64_t> next(int64_t n);

  const SamplerState& state() const { return state_; }
  // The order of one epoch: a permutation of [0, num_items) (the identity without shuffle).
  std::vector<int64_t> epoch_order(int64_t epoch) const;

 private:
  int64_t num_items_;
  uint64_t seed_;
  bool shuffle_;
  SamplerState state_;
  std::vector<int64_t> order_;  // epoch_order(state_.epoch)
};

}  // namespace visrl::trainer
