// Validation during a run (validation.h does one): greedy answers to the held-out items before
// the first step, every validation.every_steps and after the last, written under
// <run_dir>/validation/, the best policy kept (BestPolicyKeeper), and summary.json comparing
// before with after. Collective: every rank calls every method with the same arguments.
#pragma once

#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/config.h"
#include "core/run_dir.h"
#include "reward/formula/reward_formula.h"
#include "trainer/data/instructions.h"
#include "trainer/data/manifest.h"
#include "trainer/distributed/communicator.h"
#include "trainer/eval/best_policy_keeper.h"
#include "trainer/loop/prepared_prompt.h"
#include "trainer/loop/rollout_pipeline.h"

namespace visrl::trainer {

// What a validation runs on; all owned by the caller (the Trainer), outliving the Validator.
struct ValidationDeps {
  RolloutDeps rollout;  // the policy being trained, the render pool and the critic
  const policy::PolicyAssets& assets;
  const TaskInstructions& instructions;
  reward::RewardFormula& formula;
};

class Validator {
 public:
  // items: data.val, already cut to validation.max_items (may be empty: no validation).
  Validator(const Config& config, const RunDir& run_dir, Communicator& comm, std::vector<DataItem> items,
            ValidationDeps deps);

  bool before_and_after() const;    // validation.before_and_after, with held-out items
  bool due_at(int64_t step) const;  // validation.every_steps divides `step`, with held-out items
  // Validates the policy of `deps` at `step` (a second call for the same step returns the first's
  // metrics), writes validation/step_<step>.*, and keeps the policy in best/ if it is the best.
  nlohmann::json run(int64_t step);
  // After the last step: validates once more and writes summary.json (before vs after).
  void write_summary(int64_t last_step);
  BestPolicyKeeper& best() { return best_; }

 private:
  const Config& config_;
  const RunDir& run_dir_;
  Communicator& comm_;
  std::vector<DataItem> items_;
  ValidationDeps deps_;
  std::vector<PreparedPrompt> prompts_;                     // prepared at the first validation
  std::optional<std::pair<int64_t, nlohmann::json>> last_;  // step and metrics
  BestPolicyKeeper best_;
};

}  // namespace visrl::trainer
