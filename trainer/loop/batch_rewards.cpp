#include "trainer/loop/batch_rewards.h"

#include <set>

#include "trainer/algorithms/shaping.h"

namespace visrl::trainer {

std::vector<int64_t> prompt_groups(const std::vector<RolloutSample>& samples) {
  std::vector<int64_t> out;
  out.reserve(samples.size());
  int64_t group = -1, last_slot = -1;
  for (const auto& s : samples) {
    if (s.prompt_slot != last_slot) {
      ++group;
      last_slot = s.prompt_slot;
    }
    out.push_back(group);
  }
  return out;
}

BatchRewards score_samples(reward::RewardFormula& formula, std::vector<RolloutSample>& samples,
                           const AlgorithmConfig& algorithm, int64_t max_new_tokens) {
  const auto n = static_cast<int64_t>(samples.size());
  BatchRewards out;
  out.group_ids = at::tensor(prompt_groups(samples), at::kLong);
  // The formula's group variables (group_mean_S, ...) see the same groups as the advantages: an
  // item drawn twice in one step (an epoch wrap, a resampling round) is two groups, not one.
  std::vector<reward::SampleOutcome> outcomes;
  outcomes.reserve(samples.size());
  for (int64_t i = 0; i < n; ++i) {
    outcomes.push_back(samples[static_cast<size_t>(i)].record.sample);
    outcomes.back().group = std::to_string(out.group_ids[i].item<int64_t>());
  }
  const auto scored = formula.evaluate(outcomes);

  out.rewards = at::empty({n}, at::kDouble);
  out.lengths = at::empty({n}, at::kLong);
  for (int64_t i = 0; i < n; ++i) {
    auto& s = samples[static_cast<size_t>(i)];
    out.lengths[i] = s.record.sample.response_len;
    out.rewards[i] = scored[static_cast<size_t>(i)].reward;
    s.record.components = scored[static_cast<size_t>(i)].components;
  }
  if (algorithm.overlong_buffer > 0) {
    auto penalty = overlong_penalty(out.lengths, max_new_tokens, algorithm.overlong_buffer, algorithm.overlong_penalty)
                       .to(at::kDouble);
    out.rewards += penalty;
    for (int64_t i = 0; i < n; ++i) {
      samples[static_cast<size_t>(i)].record.components["overlong_penalty"] = penalty[i].item<double>();
    }
  }
  for (int64_t i = 0; i < n; ++i) samples[static_cast<size_t>(i)].record.reward = out.rewards[i].item<double>();
  return out;
}

std::vector<int64_t> samples_of_groups(const at::Tensor& group_ids, const std::vector<int64_t>& groups) {
  const std::set<int64_t> wanted(groups.begin(), groups.end());
  std::vector<int64_t> out;
  auto ids = group_ids.contiguous();
  const auto* g = ids.data_ptr<int64_t>();
  for (int64_t i = 0; i < ids.numel(); ++i) {
    if (wanted.count(g[i])) out.push_back(i);
  }
  return out;
}

}  // namespace visrl::trainer
