// Offline ablation of reward formulas: recompute every logged sample's reward under each
// formula (no critic run), then the GRPO advantages, and compare with the first formula.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/algorithm_choice.h"
#include "core/config.h"
#include "reward/formula/reward_formula.h"
#include "reward/formula/rollout_record.h"

namespace visrl::trainer {

struct AblationFormula {
  reward::FormulaSpec spec;
  AdvEstimator adv_estimator = *find_choice<AdvEstimator>(AlgorithmConfig{}.adv_estimator);
  double adv_eps = AlgorithmConfig{}.adv_eps;
};

// The formulas file:
//   adv_estimator: grpo          # optional defaults for every formula
//   adv_eps: 1e-6
//   formulas:
//     - name: released                     # optional; default the formula text
//       formula: released_chart_svg        # preset or muparser expression
//       on_failure: {parse_failure: 0}     # optional, as reward.on_failure
//       extra_terms: {code_similarity: 0.5}
//       adv_estimator: rloo                # optional
// Throws Error(config) naming file:line and key.
std::vector<AblationFormula> load_ablation_formulas(const std::filesystem::path& path);

struct AblationRow {
  std::string name;
  std::string expression;
  int64_t samples = 0;
  int64_t groups = 0;
  double reward_mean = 0;
  double reward_std = 0;             // population std over all samples
  double zero_variance_groups = 0;   // share of groups whose rewards are all equal
  std::optional<double> tau_all;     // Kendall tau-b of all samples' rewards vs the first formula
  std::optional<double> tau_groups;  // mean within-group tau-b (groups where it is defined)
  double sign_flips = 0;             // share of samples whose advantage has the opposite sign
  std::vector<double> rewards;       // per record, in input order
  std::vector<double> advantages;
};

// Batches are steps (batch_max_S, batch_mean), groups are (step, prompt_id).
std::vector<AblationRow> run_ablation(const std::vector<reward::RolloutRecord>& records,
                                      std::vector<AblationFormula>& formulas);

std::string format_ablation_table(const std::vector<AblationRow>& rows);
nlohmann::json ablation_json(const std::vector<AblationRow>& rows);

}  // namespace visrl::trainer
