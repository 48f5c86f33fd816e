#include "trainer/eval/greedy_scorer.h"

#include "policy/model/hf_checkpoint.h"
#include "reward/make_critic.h"
#include "trainer/loop/policy_setup.h"
#include "trainer/loop/validation.h"

namespace visrl::trainer {
namespace {

policy::LoadOptions load_options(const Config& config, const at::Device& device) {
  policy::LoadOptions load;
  load.device = device;
  load.dtype = training_dtype(config, device);
  return load;
}

}  // namespace

GreedyScorer::GreedyScorer(const Config& config, const at::Device& device, int64_t max_new_tokens)
    : assets(load_policy_assets(config)),
      policy(policy::load_pretrained(config.model.path, load_options(config, device))),
      instructions(TaskInstructions::load(config.data.prompt_dir)),
      pool(render::pool_options_from(config.render)),
      critic(reward::make_critic(config)),
      formula(reward::RewardFormula::compile(reward::FormulaSpec::from_config(config.reward))),
      greedy([&] {
        ValidationConfig budget;
        budget.max_new_tokens = max_new_tokens;
        return validation_options(rollout_options(config, assets, policy->config), budget);
      }()),
      deps{*policy, assets.tokenizer, pool, *critic, config.render} {
  policy->eval();
}

}  // namespace visrl::trainer
