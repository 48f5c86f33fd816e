// Reward formulas against hand-computed values (REFERENCE.md section 2).
#include "reward/formula/reward_formula.h"

#include <gtest/gtest.h>

#include "tests/test_util.h"

namespace visrl::reward {
namespace {

using render::RenderStatus;

SampleOutcome scored(std::string id, std::string group, std::vector<CriticError> errors, Task task = Task::chart) {
  SampleOutcome s;
  s.id = std::move(id);
  s.group = std::move(group);
  s.task = task;
  s.errors = std::move(errors);
  s.response_len = 100;
  s.max_len = 1000;
  return s;
}

SampleOutcome failed(std::string id, std::string group, RenderStatus render, CriticStatus critic,
                     Task task = Task::chart) {
  SampleOutcome s = scored(std::move(id), std::move(group), {}, task);
  s.render_status = render;
  s.critic_status = critic;
  return s;
}

// The batch of the tests: two groups of chart answers with every outcome.
std::vector<SampleOutcome> chart_batch() {
  return {
      scored("a", "p1", {{"data_error", 3, "", ""}, {"text_error", 1, "", ""}}),  // S = 4
      scored("b", "p1", {}),                                                      // S = 0
      failed("c", "p1", RenderStatus::no_code, CriticStatus::not_scored),
      failed("d", "p1", RenderStatus::runtime_error, CriticStatus::not_scored),
      scored("e", "p2",
             {{"style_error", 2, "", ""},
              {"structure_error", 3, "", ""},
              {"data_error", 3, "", ""},
              {"data_error", 2, "", ""}}),  // S = 10
      failed("f", "p2", RenderStatus::ok, CriticStatus::parse_failure),
      failed("g", "p2", RenderStatus::blank_image, CriticStatus::not_scored),
      failed("h", "p2", RenderStatus::ok, CriticStatus::unavailable),
  };
}

std::vector<double> rewards_of(const std::string& formula, const std::vector<SampleOutcome>& batch,
                               FailureRewards on_failure = {}) {
  FormulaSpec spec;
  spec.formula = formula;
  spec.on_failure = on_failure;
  RewardFormula f = RewardFormula::compile(spec);
  std::vector<double> r;
  for (const auto& s : f.evaluate(batch)) r.push_back(s.reward);
  return r;
}

TEST(RewardFormula, OutcomesAreClassifiedInOrder) {
  auto batch = chart_batch();
  std::vector<Outcome> expected = {
      Outcome::scored, Outcome::scored,        Outcome::no_code,     Outcome::render_failure,
      Outcome::scored, Outcome::parse_failure, Outcome::blank_image, Outcome::critic_unavailable};
  for (size_t i = 0; i < batch.size(); ++i) EXPECT_EQ(classify(batch[i]), expected[i]) << batch[i].id;
  // A timeout is a render failure even if a critic result was attached by mistake.
  EXPECT_EQ(classify(failed("x", "p", RenderStatus::timeout, CriticStatus::scored)), Outcome::render_failure);
}

TEST(RewardFormula, ReleasedChartSvgPreset) {
  // 1 + clip(1 - S/50, 0, 1) when scored; 0 for no code, render failure, blank image and a
  // critic exception; 1.5 (S = 25) when the critic output cannot be parsed.
  std::vector<double> r = rewards_of("released_chart_svg", chart_batch());
  std::vector<double> expected = {1.92, 2.0, 0.0, 0.0, 1.8, 1.5, 0.0, 0.0};
  ASSERT_EQ(r.size(), expected.size());
  for (size_t i = 0; i < r.size(); ++i) EXPECT_DOUBLE_EQ(r[i], expected[i]) << i;
  // S above 50 is clipped at the render bonus.
  EXPECT_DOUBLE_EQ(
      rewards_of("released_chart_svg", {scored("z", "p", std::vector<CriticError>(20, {"data_error", 3, "", ""}))})[0],
      1.0);
}

TEST(RewardFormula, PaperPreset) {
  // r = r_rsr + clip(1 - S / (max_S over the batch's chart samples + 1e-6), 0, 1); failed
  // renders get 0, critic failures the mean of the scored samples.
  std::vector<double> r = rewards_of("paper", chart_batch());
  const double a = 1 + (1 - 4 / (10 + 1e-6)), b = 2.0, e = 1 + (1 - 10 / (10 + 1e-6));
  std::vector<double> expected = {a, b, 0, 0, e, (a + b + e) / 3, 0, (a + b + e) / 3};
  for (size_t i = 0; i < r.size(); ++i) EXPECT_NEAR(r[i], expected[i], 1e-12) << i;
}

TEST(RewardFormula, PaperWithoutRenderBonus) {
  std::vector<double> r = rewards_of("paper_no_rsr", chart_batch());
  const double a = 1 - 4 / (10 + 1e-6), b = 1.0, e = 1 - 10 / (10 + 1e-6);
  EXPECT_NEAR(r[0], a, 1e-12);
  EXPECT_NEAR(r[1], b, 1e-12);
  EXPECT_NEAR(r[4], e, 1e-12);
  EXPECT_NEAR(r[5], (a + b + e) / 3, 1e-12);
  EXPECT_DOUBLE_EQ(r[2], 0.0);
}

TEST(RewardFormula, ReleasedTablePreset) {
  std::vector<SampleOutcome> batch = {
      scored("t1", "p", {{"numeric_error", 2, "", ""}, {"layout_error", 3, "", ""}}, Task::table),
      scored("t2", "p", {}, Task::table),
      failed("t3", "p", RenderStatus::ok, CriticStatus::parse_failure, Task::table),
      failed("t4", "p", RenderStatus::rejected, CriticStatus::not_scored, Task::table),
      failed("t5", "p", RenderStatus::ok, CriticStatus::unavailable, Task::table),
      failed("t6", "p", RenderStatus::no_code, CriticStatus::not_scored, Task::table),
  };
  std::vector<double> r = rewards_of("released_table", batch);
  std::vector<double> expected = {-5, 0, -4, -4, -4, -4};
  for (size_t i = 0; i < r.size(); ++i) EXPECT_DOUBLE_EQ(r[i], expected[i]) << i;
}

TEST(RewardFormula, BatchMaxIsPerTask) {
  // The table sample's large S must not rescale the chart samples.
  std::vector<SampleOutcome> batch = {
      scored("c1", "p1", {{"data_error", 2, "", ""}}),
      scored("c2", "p1", {{"data_error", 2, "", ""}, {"text_error", 2, "", ""}}),
      scored("t1", "p2", std::vector<CriticError>(10, {"text_error", 3, "", ""}), Task::table),
  };
  std::vector<double> r = rewards_of("paper_no_rsr", batch);
  EXPECT_NEAR(r[0], 1 - 2 / (4 + 1e-6), 1e-12);
  EXPECT_NEAR(r[1], 1 - 4 / (4 + 1e-6), 1e-12);
  EXPECT_NEAR(r[2], 1 - 30 / (30 + 1e-6), 1e-12);
}

TEST(RewardFormula, ExpressionVariablesAndFunctions) {
  auto batch = chart_batch();
  // Per-category sums, severity counts, the ternary and min/max.
  std::vector<double> r = rewards_of("S_data_error * 10 + n_sev3 * 100 + (n_errors > 3 ? 1000 : 0)", batch);
  EXPECT_DOUBLE_EQ(r[0], 3 * 10 + 1 * 100);
  EXPECT_DOUBLE_EQ(r[1], 0);
  EXPECT_DOUBLE_EQ(r[4], 5 * 10 + 2 * 100 + 1000);
  r = rewards_of("group_mean_S + 0.001 * group_max_S + 1e-6 * response_len / max_len", batch);
  EXPECT_NEAR(r[0], 2 + 0.004 + 1e-7, 1e-12);  // group p1: S = 4 and 0
  EXPECT_NEAR(r[4], 10 + 0.010 + 1e-7, 1e-12);
  r = rewards_of("clip(S, 1, 5) + batch_mean_S", batch);
  EXPECT_NEAR(r[0], 4 + 14.0 / 3, 1e-12);
  EXPECT_NEAR(r[1], 1 + 14.0 / 3, 1e-12);
  EXPECT_NEAR(r[4], 5 + 14.0 / 3, 1e-12);
}

TEST(RewardFormula, FailureRewardsFromTheConfig) {
  auto batch = chart_batch();
  FailureRewards on_failure;
  on_failure.no_code = "-1";
  on_failure.render_failure = "batch_mean";
  on_failure.parse_failure = "formula";  // released formula with S = 0: 2
  on_failure.critic_unavailable = "0.25";
  std::vector<double> r = rewards_of("released_chart_svg", batch, on_failure);
  EXPECT_DOUBLE_EQ(r[2], -1.0);
  EXPECT_DOUBLE_EQ(r[3], (1.92 + 2.0 + 1.8) / 3);
  EXPECT_DOUBLE_EQ(r[5], 2.0);
  EXPECT_DOUBLE_EQ(r[6], 0.0);  // blank keeps the preset's 0
  EXPECT_DOUBLE_EQ(r[7], 0.25);
  // `formula` lets an expression see what failed.
  on_failure = {};
  on_failure.no_code = on_failure.render_failure = on_failure.blank_image = "formula";
  r = rewards_of("render_ok + code_found + 10 * blank - S", batch, on_failure);
  EXPECT_DOUBLE_EQ(r[0], 2 - 4);
  EXPECT_DOUBLE_EQ(r[2], 0.0);   // no code: nothing rendered, no code found
  EXPECT_DOUBLE_EQ(r[3], 1.0);   // code found, render failed
  EXPECT_DOUBLE_EQ(r[6], 11.0);  // blank: code found, not render_ok
}

TEST(RewardFormula, BareExpressionsDefaultToNeutralCriticFailures) {
  auto batch = chart_batch();
  std::vector<double> r = rewards_of("2 - S / 10", batch);
  const double mean = (1.6 + 2.0 + 1.0) / 3;
  EXPECT_DOUBLE_EQ(r[2], 0.0);
  EXPECT_DOUBLE_EQ(r[3], 0.0);
  EXPECT_DOUBLE_EQ(r[6], 0.0);
  EXPECT_NEAR(r[5], mean, 1e-12);
  EXPECT_NEAR(r[7], mean, 1e-12);
  // Without any scored sample of the task, the batch mean is 0.
  r = rewards_of("2 - S / 10", {failed("f", "p", RenderStatus::ok, CriticStatus::parse_failure)});
  EXPECT_DOUBLE_EQ(r[0], 0.0);
}

TEST(RewardFormula, ExtraTermsAreWeightedAndLogged) {
  SampleOutcome s = scored("a", "p", {{"data_error", 1, "", ""}});
  s.answer_code = "abcd";
  s.reference_code = "abce";
  SampleOutcome no_code = failed("b", "p", RenderStatus::no_code, CriticStatus::not_scored);
  no_code.reference_code = "abce";
  FormulaSpec spec;
  spec.formula = "released_chart_svg";
  spec.extra_terms = {{"code_similarity", 0.5}};
  RewardFormula f = RewardFormula::compile(spec);
  auto out = f.evaluate({s, no_code});
  EXPECT_DOUBLE_EQ(out[0].reward, 1 + (1 - 1.0 / 50) + 0.5 * 0.75);
  EXPECT_DOUBLE_EQ(out[0].components.at("code_similarity"), 0.75);
  EXPECT_DOUBLE_EQ(out[0].components.at("terms"), 0.375);
  EXPECT_DOUBLE_EQ(out[0].components.at("formula"), 1.98);
  EXPECT_DOUBLE_EQ(out[0].components.at("S"), 1);
  EXPECT_DOUBLE_EQ(out[0].components.at("S_data_error"), 1);
  EXPECT_EQ(out[0].components.count("S_numeric_error"), 0u);  // another task's category
  EXPECT_DOUBLE_EQ(out[1].reward, 0.0);                       // failure rewards replace the terms too
  EXPECT_TRUE(out[1].from_failure_reward);
  EXPECT_FALSE(out[0].from_failure_reward);

  // A term used inside the expression, and TEDS of a table answer.
  SampleOutcome t = scored("t", "p", {}, Task::table);
  t.answer_code = "| a | b |\n|---|---|\n| 1 | 2 |\n";
  t.reference_code = "| a | b |\n|---|---|\n| 1 | 2 |\n";
  spec = {};
  spec.formula = "teds + teds_s - S";
  auto tr = RewardFormula::compile(spec).evaluate({t});
  EXPECT_DOUBLE_EQ(tr[0].reward, 2.0);

  // SSIM from a logged value.
  SampleOutcome v = scored("v", "p", {});
  v.ssim = 0.8;
  spec = {};
  spec.formula = "ssim * 2";
  EXPECT_DOUBLE_EQ(RewardFormula::compile(spec).evaluate({v})[0].reward, 1.6);
}

TEST(RewardFormula, TermsWithoutTheirInputsNameTheSample) {
  FormulaSpec spec;
  spec.formula = "1";
  spec.extra_terms = {{"code_similarity", 1.0}};
  RewardFormula f = RewardFormula::compile(spec);
  std::string error = test::expected_error([&] { f.evaluate({scored("sample-7", "p", {})}); });
  EXPECT_NE(error.find("sample-7"), std::string::npos) << error;
  EXPECT_NE(error.find("ground-truth"), std::string::npos) << error;
  spec.extra_terms = {{"ssim", 1.0}};
  RewardFormula g = RewardFormula::compile(spec);
  error = test::expected_error([&] { g.evaluate({scored("sample-8", "p", {})}); });
  EXPECT_NE(error.find("sample-8"), std::string::npos) << error;
}

TEST(RewardFormula, BadFormulasAreConfigErrors) {
  auto compile = [](std::string formula, FailureRewards on_failure = {}, std::map<std::string, double> terms = {}) {
    FormulaSpec spec;
    spec.formula = std::move(formula);
    spec.on_failure = on_failure;
    spec.extra_terms = std::move(terms);
    return test::expected_error([&] { RewardFormula::compile(spec); });
  };
  std::string error = compile("1 + clip(1 - S / 50, 0, 1) + severity");
  EXPECT_NE(error.find("severity"), std::string::npos) << error;
  EXPECT_NE(error.find("position"), std::string::npos) << error;
  EXPECT_NE(error.find("batch_max_S"), std::string::npos) << error;  // lists the variables
  error = compile("1 + (S");
  EXPECT_NE(error.find("1 + (S"), std::string::npos) << error;
  error = compile("   ");
  EXPECT_NE(error.find("empty"), std::string::npos) << error;
  FailureRewards bad;
  bad.blank_image = "average";
  error = compile("paper", bad);
  EXPECT_NE(error.find("reward.on_failure.blank_image"), std::string::npos) << error;
  error = compile("paper", {}, {{"dino", 1.0}});
  EXPECT_NE(error.find("dino"), std::string::npos) << error;
}

TEST(RewardFormula, NonFiniteRewardsNameTheSample) {
  FormulaSpec spec;
  spec.formula = "1 - S / batch_max_S";  // 0 / 0 when every sample is perfect
  RewardFormula f = RewardFormula::compile(spec);
  std::string error = test::expected_error([&] { f.evaluate({scored("perfect-1", "p", {})}); });
  EXPECT_NE(error.find("perfect-1"), std::string::npos) << error;
  EXPECT_NE(error.find("nan"), std::string::npos) << error;
}

TEST(RewardFormula, PresetsAreNamedAndFailureRewardsParse) {
  EXPECT_EQ(formula_presets().size(), 4u);
  ASSERT_NE(find_preset("released_table"), nullptr);
  EXPECT_EQ(find_preset("released_table")->expression, "-S");
  EXPECT_EQ(find_preset("nope"), nullptr);
  EXPECT_EQ(parse_failure_reward("-4"), FailureReward::constant(-4));
  EXPECT_EQ(parse_failure_reward("+1.5"), FailureReward::constant(1.5));
  EXPECT_EQ(parse_failure_reward("batch_mean"), FailureReward::mean());
  EXPECT_EQ(parse_failure_reward("formula"), FailureReward::formula());
  EXPECT_FALSE(parse_failure_reward("").has_value());
  EXPECT_FALSE(parse_failure_reward("1.5x").has_value());
  EXPECT_FALSE(parse_failure_reward("nan").has_value());
  EXPECT_EQ(to_string(FailureReward::constant(-4)), "-4");
  EXPECT_EQ(to_string(FailureReward::mean()), "batch_mean");
}

TEST(RewardFormula, FromConfigUsesTheRewardSection) {
  RewardConfig config;
  config.formula = "paper";
  config.on_failure.parse_failure = "0";
  config.extra_terms = {{"ssim", 0.1}};
  FormulaSpec spec = FormulaSpec::from_config(config);
  RewardFormula f = RewardFormula::compile(spec);
  EXPECT_EQ(f.expression(), find_preset("paper")->expression);
  EXPECT_EQ(f.failure_rewards().parse_failure, FailureReward::constant(0));
  EXPECT_EQ(f.failure_rewards().critic_unavailable, FailureReward::mean());
}

}  // namespace
}  // namespace visrl::reward
