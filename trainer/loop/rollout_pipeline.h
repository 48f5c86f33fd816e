// The rollout of one step on one rank, as a pipeline: the rank's prompts go to one generate
// call that decodes rollout.batch_size answers at a time (continuous batching); each answer,
// the moment it is complete, has its code extracted and queued in the render pool (worker
// processes), and the critic stage (its own thread) scores renders as they finish. Generation, rendering and scoring
// overlap instead of running as three phases one after another.
#pragma once

#include <cstdint>
#include <vector>

#include "core/config.h"
#include "policy/generate/engine.h"
#include "policy/generate/prompt.h"
#include "policy/model/qwen3vl_config.h"
#include "policy/tokenizer/tokenizer.h"
#include "render/render_pool.h"
#include "reward/critic.h"
#include "trainer/loop/prepared_prompt.h"
#include "trainer/loop/rollout_sample.h"

namespace visrl::trainer {

struct RolloutOptions {
  policy::GenerateOptions generate;  // group size, slots, budget, sampling, eos/stop, pad (seed set per step)
  uint64_t seed = 0;
  bool image_metrics = false;  // SSIM and pixel MSE of each render (the formula's ssim term, validation)
};

struct RolloutStats {
  double generate_s = 0;    // inside generate
  double render_s = 0;      // first render queued -> last render done
  double critic_s = 0;      // inside the critic
  double lora_merge_s = 0;  // merging LoRA adapters into the base and putting the base back
  double wall_s = 0;        // the whole rollout
  int64_t response_tokens = 0;
};

struct RolloutDeps {
  policy::Qwen3VLImpl& model;
  const policy::Tokenizer& tokenizer;
  render::RenderPool& pool;
  reward::Critic& critic;
  const RenderConfig& render_config;
};

// The rollout settings of `config` for `model`: sampling, budget, end-of-turn and pad tokens,
// vision tokens suppressed, rollout.batch_size decode slots, batch invariance.
RolloutOptions rollout_options(const Config& config, const policy::PolicyAssets& assets,
                               const policy::Qwen3VLConfig& model);

// The generate seed of step `step`. Each prompt's random streams are keyed by it and by the
// prompt's global slot in the step (PromptInput::stream), so a prompt draws the same random
// numbers on any rank and world size (and, with rollout.batch_invariant, the same answers).
uint64_t step_seed(uint64_t seed, int64_t step);

// prompts[i] is global slot slots[i]. Returns prompts.size() * G samples, prompt-major.
// Rethrows the critic's CriticUnavailable (the caller skips the step).
std::vector<RolloutSample> run_rollouts(const RolloutDeps& deps, const RolloutOptions& options,
                                        const std::vector<const PreparedPrompt*>& prompts,
                                        const std::vector<int64_t>& slots, int64_t step, RolloutStats* stats);

}  // namespace visrl::trainer
