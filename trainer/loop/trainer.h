// One training run: owns the policy (and the frozen reference when KL is used), the data,
// the render pool, the critic, the formula and the optimizer, and runs steps. A step
// (train_step.cpp) is five stages:
//
//   collect_rollouts    prompts -> rollout pipeline (generate | render | critic) -> gathered
//                       across ranks -> formula + overlong penalty -> dynamic sampling
//   share_of_batch      this rank's slice of every mini-batch of the kept groups
//   fill_logprobs       old / reference log-probs (and the generation's)
//   assign_advantages   KL in the reward, then group advantages over the kept groups
//   update_policy       PPO epochs (mini-batches, micro-batches) -> metrics
//
// Every rank computes rewards and advantages on the same global batch; each trains on its
// own slice of every mini-batch, and gradients are all-reduced.
//
// Checkpoints (trainer/checkpoint): every checkpoint.every_steps steps, when stopped and at the
// end. Validation (validator.h) before the first step, every validation.every_steps and after
// the last. A trainer constructed from a checkpoint continues with the step after it, with the
// same weights, optimizer state, data position and random streams, on any number of ranks.
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <optional>

#include "core/config.h"
#include "core/error.h"
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
#include "trainer/loop/fault_injection.h"
#include "trainer/loop/prepared_prompt.h"
#include "trainer/loop/step_batch.h"
#include "trainer/loop/validator.h"
#include "trainer/optim/lr_schedule.h"
#include "trainer/report/metrics_backend.h"

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
  // The step's metrics (train_step.cpp); {"skipped": why, ...} when no update happened.
  nlohmann::json train_step(int64_t step);
  // The stages of a step, in order (train_step.cpp).
  std::optional<StepBatch> collect_rollouts(int64_t step, nlohmann::json& m);
  RankShare share_of_batch(const StepBatch& batch);
  void fill_logprobs(RankShare& share, nlohmann::json& m);
  void assign_advantages(StepBatch& batch, RankShare& share, nlohmann::json& m);
  void update_policy(int64_t step, const RankShare& share, nlohmann::json& m);

  const PreparedPrompt& prepared(int64_t item);
  RolloutDeps rollout_deps();
  TrainerState state_after(int64_t step) const;
  void open_backends(bool resumed);
  void resume(const std::filesystem::path& dir);
  // Whether the checkpoint was saved; a failed save (removed again) is reported and, with
  // checkpoint.on_save_error: stop, thrown as Error(io).
  bool save_checkpoint(int64_t step);
  void report_failed_save(int64_t step, const Error& error);
  // After a step's metrics: counts bad steps in a row and stops the run at optim.max_bad_steps.
  void check_bad_steps(int64_t step, const nlohmann::json& metrics);
  void save_final_policy(int64_t step);

  const Config config_;
  const RunDir& run_dir_;
  Communicator& comm_;
  at::Device device_;
  policy::Qwen3VL policy_{nullptr};
  // The KL reference (algorithm.kl_coef != 0): a second model, or, for a LoRA policy, the
  // policy's own base with the adapters switched off (reference_ stays empty then).
  policy::Qwen3VL reference_{nullptr};
  bool has_reference_ = false;
  policy::PolicyAssets assets_;
  std::vector<DataItem> items_;
  TaskInstructions instructions_;
  std::unique_ptr<PromptSampler> sampler_;
  std::map<int64_t, PreparedPrompt> prepared_;  // this step's prompts, by item index
  std::unique_ptr<render::RenderPool> pool_;
  std::unique_ptr<reward::Critic> critic_;
  std::optional<reward::RewardFormula> formula_;
  std::unique_ptr<ShardedAdamW> optimizer_;
  std::unique_ptr<GradientBuckets> gradients_;
  UpdateOptions update_options_;
  LrSchedule schedule_;
  std::unique_ptr<Validator> validator_;
  std::unique_ptr<BackendFanout> backends_;  // rank 0: logging.backends besides jsonl; null when none
  int64_t start_step_ = 0;
  InjectedFaults faults_;           // tests only (fault_injection.h)
  int64_t bad_steps_in_a_row_ = 0;  // steps whose update was skipped for a NaN/inf (optim.max_bad_steps)
  int64_t last_good_step_ = 0;      // the step of the last applied update (start_step_ before any)
};

}  // namespace visrl::trainer
