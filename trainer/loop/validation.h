// Validation: one greedy answer to each held-out prompt, rendered, judged by the critic and
// rewarded by the training formula: the rollout pipeline of a training step with G = 1 and
// argmax decoding, so "before" and "after" are measured exactly as training measures reward.
//
// Files (rank 0): <run_dir>/validation/step_<N>.jsonl (one rollout record per item) and
// step_<N>.json (the metrics); <run_dir>/summary.json compares the policy before the first step
// with the policy after the last:
//   {"before": {"step", "items", "reward_mean", "reward_std", "render_ok_rate", "ssim_mean"}, "after": {...}}
// ssim_mean is the SSIM of render and reference, 0 for an answer that did not render: a
// fidelity number independent of the critic.
#pragma once

#include <filesystem>
#include <optional>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/config.h"
#include "reward/formula/reward_formula.h"
#include "trainer/distributed/communicator.h"
#include "trainer/loop/prepared_prompt.h"
#include "trainer/loop/rollout_pipeline.h"

namespace visrl::trainer {

struct ValidationOutcome {
  std::vector<RolloutSample> samples;  // every rank's, in prompt order
  nlohmann::json metrics;              // the step metrics' sample keys; {"skipped": why} when no critic answered
};

// The training rollout settings made greedy, one answer per prompt, validation's token budget.
RolloutOptions validation_options(RolloutOptions training, const ValidationConfig& validation);

// Collective: every rank passes the same `prompts` and answers its share; every rank returns
// the same outcome. The DAPO overlong penalty is not applied: validation reports the formula.
ValidationOutcome validate(const RolloutDeps& deps, const RolloutOptions& options,
                           const std::vector<const PreparedPrompt*>& prompts, Communicator& comm,
                           reward::RewardFormula& formula, AlgorithmConfig algorithm);

// The held-out items validation uses: the first `max_items` (0 = all).
size_t validation_size(size_t available, const ValidationConfig& validation);

// Writes validation/step_<step>.jsonl and .json under run_dir.
void write_validation(const std::filesystem::path& run_dir, int64_t step, const ValidationOutcome& outcome);

// The metrics validation/step_<step>.json holds, if that file exists.
std::optional<nlohmann::json> read_validation(const std::filesystem::path& run_dir, int64_t step);

// The summary entry of one validation: step, items and the headline numbers.
nlohmann::json summary_entry(int64_t step, const nlohmann::json& metrics);

// Writes <run_dir>/summary.json ({"before": ..., "after": ...}, either may be null) and returns it.
nlohmann::json write_summary(const std::filesystem::path& run_dir, const std::optional<nlohmann::json>& before,
                             const std::optional<nlohmann::json>& after);

// The before/after table printed at the end of a run, one line per element.
std::vector<std::string> summary_table(const nlohmann::json& summary);

}  // namespace visrl::trainer
