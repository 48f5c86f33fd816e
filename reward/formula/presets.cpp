#include "reward/formula/presets.h"

#include <charconv>
#include <cmath>

#include <fmt/format.h>

namespace visrl::reward {

std::optional<FailureReward> parse_failure_reward(std::string_view text) {
  if (text == "batch_mean") return FailureReward::mean();
  if (text == "formula") return FailureReward::formula();
  if (!text.empty() && text[0] == '+') text.remove_prefix(1);
  double v = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec != std::errc() || ptr != text.data() + text.size() || !std::isfinite(v)) return std::nullopt;
  return FailureReward::constant(v);
}

std::string to_string(const FailureReward& reward) {
  switch (reward.kind) {
    case FailureReward::Kind::batch_mean:
      return "batch_mean";
    case FailureReward::Kind::formula:
      return "formula";
    case FailureReward::Kind::constant:
      break;
  }
  return fmt::format("{}", reward.value);
}

FailureRewardSet default_failure_rewards() {
  const auto zero = FailureReward::constant(0.0);
  return {zero, zero, zero, FailureReward::mean(), FailureReward::mean()};
}

const std::vector<FormulaPreset>& formula_presets() {
  static const std::vector<FormulaPreset> presets = [] {
    const auto zero = FailureReward::constant(0.0);
    const auto minus4 = FailureReward::constant(-4.0);
    std::vector<FormulaPreset> p;
    // r = r_rsr + clip(1 - S / (max_S over the batch of the same task + eps), 0, 1). The
    // paper does not say what a critic failure gets; the batch mean keeps it neutral.
    p.push_back({"paper",
                 "render_ok + clip(1 - S / (batch_max_S + 1e-6), 0, 1)",
                 {zero, zero, zero, FailureReward::mean(), FailureReward::mean()},
                 "Visual-ERM paper (v2): render-success reward plus batch-normalised severity"});
    p.push_back({"paper_no_rsr",
                 "clip(1 - S / (batch_max_S + 1e-6), 0, 1)",
                 {zero, zero, zero, FailureReward::mean(), FailureReward::mean()},
                 "the paper's formula without the render-success reward (its w/o RSR ablation)"});
    // Rendered and scored: 1 + clip(1 - S/50, 0, 1). No code, render failure or timeout,
    // all-white image, critic exception: 0. Unparseable after the retries: S = 25 -> 1.5.
    p.push_back({"released_chart_svg",
                 "1 + clip(1 - S / 50, 0, 1)",
                 {zero, zero, zero, FailureReward::constant(1.5), zero},
                 "the released chart/SVG RL code"});
    // reward = -S; critic parse failure, render or server error: -4.
    p.push_back({"released_table", "-S", {minus4, minus4, minus4, minus4, minus4}, "the released table RL code"});
    return p;
  }();
  return presets;
}

const FormulaPreset* find_preset(std::string_view name) {
  for (const auto& p : formula_presets())
    if (p.name == name) return &p;
  return nullptr;
}

}  // namespace visrl::reward
