// The reward of a sample: a muparser expression over per-sample, batch and group variables,
// plus weighted extra terms, with failure rewards replacing it on failures.
//
//   reward = expression(variables) + sum_k weight_k * term_k     (scored samples)
//   reward = on_failure[outcome]                                  (every other outcome)
//
// `expression` is a preset name (presets.h) or an expression such as
// "1 + clip(1 - S / 50, 0, 1)". A failure reward is a constant, `batch_mean` (the mean
// reward of the batch's scored samples of the same task, 0 when there are none) or
// `formula` (evaluate the expression for the failed sample too, with S = 0 and the status
// variables telling what failed).
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/config.h"
#include "reward/formula/presets.h"
#include "reward/formula/sample_outcome.h"

namespace visrl::reward {

struct FormulaVariable {
  std::string name;
  std::string meaning;
};

// Every variable an expression may use, with its meaning (S_<category> for each category
// of all_categories()).
const std::vector<FormulaVariable>& formula_variables();
// The extra terms: code_similarity, teds, teds_s, ssim.
const std::vector<FormulaVariable>& formula_terms();

struct FormulaSpec {
  std::string name;                           // label in logs and tables; "" = the formula text
  std::string formula;                        // preset name or muparser expression
  FailureRewards on_failure;                  // "" = the preset's (or the default) failure reward
  std::map<std::string, double> extra_terms;  // term -> weight

  static FormulaSpec from_config(const RewardConfig& reward);
};

struct SampleReward {
  double reward = 0.0;
  Outcome outcome = Outcome::scored;
  bool from_failure_reward = false;  // the reward is a failure reward, not the expression
  // Everything the reward was made of: the per-sample variables, the batch and group
  // variables and terms the formula used, "formula" (the expression's value) and "terms"
  // (the weighted extra terms), for logging and offline ablation.
  std::map<std::string, double> components;
};

class RewardFormula {
 public:
  // Throws Error(config) naming the bad expression, position and token, an unknown term,
  // or a bad failure reward.
  static RewardFormula compile(const FormulaSpec& spec);

  RewardFormula(RewardFormula&&) noexcept;
  RewardFormula& operator=(RewardFormula&&) noexcept;
  ~RewardFormula();

  const std::string& name() const;
  const std::string& expression() const;  // the preset's expression when a preset was named
  const FailureRewardSet& failure_rewards() const;
  // Rewards of one batch, in order. The batch is what batch_max_S and batch_mean refer
  // to; groups are samples sharing SampleOutcome::group. Throws Error(runtime) naming the
  // sample when the expression is not finite or a term lacks its input. Not thread-safe.
  std::vector<SampleReward> evaluate(const std::vector<SampleOutcome>& batch);

 private:
  struct Impl;
  explicit RewardFormula(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace visrl::reward
