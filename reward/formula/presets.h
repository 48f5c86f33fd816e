// The named reward formulas of REFERENCE.md section 2, with their failure rewards.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace visrl::reward {

// A failure reward: a constant, the mean reward of the batch's scored samples of the same
// task, or the formula itself evaluated for the failed sample.
struct FailureReward {
  enum class Kind { constant, batch_mean, formula };
  Kind kind = Kind::constant;
  double value = 0.0;  // when kind == constant

  static FailureReward constant(double v) { return {Kind::constant, v}; }
  static FailureReward mean() { return {Kind::batch_mean, 0.0}; }
  static FailureReward formula() { return {Kind::formula, 0.0}; }
  bool operator==(const FailureReward&) const = default;
};

// "1.5" -> constant, "batch_mean", "formula"; nullopt for anything else (and for "").
std::optional<FailureReward> parse_failure_reward(std::string_view text);
std::string to_string(const FailureReward& reward);

struct FailureRewardSet {
  FailureReward no_code;
  FailureReward render_failure;
  FailureReward blank_image;
  FailureReward parse_failure;
  FailureReward critic_unavailable;
};

struct FormulaPreset {
  std::string name;
  std::string expression;  // muparser, over the variables of reward_formula.h
  FailureRewardSet on_failure;
  std::string source;  // where it comes from, for --describe and docs
};

// paper, paper_no_rsr, released_chart_svg, released_table.
const std::vector<FormulaPreset>& formula_presets();
const FormulaPreset* find_preset(std::string_view name);

// What a formula given as a bare expression does on failures: 0 for no code, failed and
// blank renders (nothing to reward), the batch mean when the critic failed (the sample is
// not known to be bad; "use the average, not the minimum").
FailureRewardSet default_failure_rewards();

}  // namespace visrl::reward
