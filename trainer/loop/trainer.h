// One training run: owns the policy (and the frozen reference when KL is used), the data,
// the render pool, the critic, the formula and the optimizer, and runs steps:
//
//   prompts -> rollout pipeline (generate | render | critic) -> gather across ranks ->
//   formula + overlong penalty -> dynamic sampling -> old / reference log-probs ->
//   advantages -> PPO epochs (mini-batches, micro-batches) -> metrics and rollout log
//
// Every rank computes rewards and advantages on the same global batch; each trains on its
// own slice of every mini-batch, and gradients are all-reduced.
//
// Checkpoints (trainer/checkpoint): every checkpoint.every_steps steps, when stopped and at the
// end. With data.val, greedy validation before the first step and after the last
// (trainer/loop/validation.h, <run_dir>/summary.json). A trainer constructed from a checkpoint
// continues with the step after it, with the same weights, optimizer state, data position and
// random streams, on any number of ranks.
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <optional>

#include "core/config.h"
#include "core/run_dir.h"
#include "policy/generate/prompt.h"
#include "policy/model/qwen3vl.h"
#include "render/render_pool.h"
#include "reward/critic.h"
#include "reward/formula/reward_formula.h"
#include "trainer/checkpoint/trainer_state.h"
#include "trainer/data/instructions.h"
#include "trainer/data/manifest.h"
#include "trainer/data/prompt_sampler.h"
#include "trainer/distributed/communicator.h"
#include "trainer/distributed/grad_sync.h"
#include "trainer/distributed/sharded_adamw.h"
#include "trainer/eval/best_policy.h"
#include "trainer/loop/prepared_prompt.h"
#include "trainer/optim/lr_schedule.h"

namespace visrl::trainer {

class Trainer {
 public:
  // resume_from: a verified checkpoint directory (resolve_checkpoint) to continue from.
  Trainer(const Config& config, const RunDir& run_dir, Communicator& comm,
          const std::optional<std::filesystem::path>& resume_from = std::nullopt);
  ~Trainer();

  // Trains until the step budget is used, step `stop_after_step` (> 0) is done, or `stop` is set
  // on any rank (checked between steps, so the current step always completes), saving a
  // checkpoint then. Returns the number of steps done by this call.
  int64_t run(const std::atomic<bool>& stop, int64_t stop_after_step = 0);

  int64_t total_steps() const { return schedule_.total_steps; }
  int64_t start_step() const { return start_step_; }  // the resumed checkpoint's step, or 0
  policy::Qwen3VLImpl& policy() { return *policy_; }

 private:
  nlohmann::json train_step(int64_t step);
  const PreparedPrompt& prepared(int64_t item);
  void write_rollouts(int64_t step, const std::vector<struct RolloutSample>& samples) const;
  TrainerState state_after(int64_t step) const;
  bool validates() const;
  // validation.every_steps divides `step` (and there are held-out items).
  bool validates_at(int64_t step) const;
  // Greedy answers to the held-out prompts (collective); writes validation/step_<step>.* and
  // keeps the policy in <run_dir>/best/ when it is the best so far. A second call for the same
  // step returns the first one's metrics.
  nlohmann::json run_validation(int64_t step);
  // Collective: saves the policy to <run_dir>/best/ when `metrics` beat the best so far.
  void track_best(int64_t step, const nlohmann::json& metrics);
  // On resume: the best record of the run directory, set aside when it is newer than `step`.
  void restore_best(int64_t step);
  void write_run_summary(int64_t last_step);
  void resume(const std::filesystem::path& dir);
  void save_checkpoint(int64_t step);

  const Config config_;
  const RunDir& run_dir_;
  Communicator& comm_;
  at::Device device_;
  policy::Qwen3VL policy_{nullptr};
  policy::Qwen3VL reference_{nullptr};  // only when KL is used
  policy::PolicyAssets assets_;
  std::vector<DataItem> items_;
  TaskInstructions instructions_;
  std::unique_ptr<PromptSampler> sampler_;
  std::map<int64_t, PreparedPrompt> prepared_;  // this step's prompts, by item index
  std::vector<DataItem> val_items_;             // data.val, the first validation.max_items
  std::vector<PreparedPrompt> val_prompts_;     // prepared at the first validation
  std::unique_ptr<render::RenderPool> pool_;
  std::unique_ptr<reward::Critic> critic_;
  std::optional<reward::RewardFormula> formula_;
  std::unique_ptr<ShardedAdamW> optimizer_;
  std::unique_ptr<GradientBuckets> gradients_;
  LrSchedule schedule_;
  int64_t start_step_ = 0;
  std::optional<std::pair<int64_t, nlohmann::json>> last_validation_;  // step and metrics
  std::optional<BestValidation> best_;                                 // validation.best_metric so far
  bool warned_missing_metric_ = false;
};

}  // namespace visrl::trainer
