// What eval and refine load to score a policy's greedy answers as validation does: the policy
// (eval mode, the config's dtype on `device`), its assets, the task instructions, a render pool,
// the config's critic and reward formula, and validation's greedy rollout options. Members are
// built in declaration order; `deps` refers to the others and to config.render, so the config
// must outlive the scorer.
#pragma once

#include <memory>

#include <ATen/ATen.h>

#include "core/config.h"
#include "policy/generate/prompt.h"
#include "policy/model/qwen3vl.h"
#include "render/render_pool.h"
#include "reward/critic.h"
#include "reward/formula/reward_formula.h"
#include "trainer/data/instructions.h"
#include "trainer/loop/rollout_pipeline.h"

namespace visrl::trainer {

struct GreedyScorer {
  // max_new_tokens: the longest answer; 0 = rollout.max_new_tokens.
  GreedyScorer(const Config& config, const at::Device& device, int64_t max_new_tokens);

  policy::PolicyAssets assets;
  policy::Qwen3VL policy;
  TaskInstructions instructions;
  render::RenderPool pool;
  std::unique_ptr<reward::Critic> critic;
  reward::RewardFormula formula;
  RolloutOptions greedy;
  RolloutDeps deps;
};

}  // namespace visrl::trainer
