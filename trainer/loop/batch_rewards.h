// From the critic's verdicts to one reward per sample, over the global batch: the reward
// formula (with its batch and group variables), plus DAPO's soft overlong penalty.
#pragma once

#include <vector>

#include <ATen/ATen.h>

#include "core/config.h"
#include "reward/formula/reward_formula.h"
#include "trainer/loop/rollout_sample.h"

namespace visrl::trainer {

struct BatchRewards {
  at::Tensor rewards;    // [N] float64
  at::Tensor group_ids;  // [N] int64, 0..groups-1 in prompt order
  at::Tensor lengths;    // [N] int64 response lengths
};

// The one definition of a group: the answers to one prompt slot of the step (adjacent in
// `samples`), numbered 0.. in order. [N] group ids.
std::vector<int64_t> prompt_groups(const std::vector<RolloutSample>& samples);

// Fills record.reward and record.components of every sample ("overlong_penalty" added when
// the penalty is on). `samples` in global order, a prompt's answers adjacent.
BatchRewards score_samples(reward::RewardFormula& formula, std::vector<RolloutSample>& samples,
                           const AlgorithmConfig& algorithm, int64_t max_new_tokens);

// The samples of `groups` (group ids, ascending) as positions into the batch.
std::vector<int64_t> samples_of_groups(const at::Tensor& group_ids, const std::vector<int64_t>& groups);

}  // namespace visrl::trainer
