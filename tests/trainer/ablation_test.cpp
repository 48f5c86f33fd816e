// Offline ablation on hand-made rollout logs: rewards, advantages, and the comparison
// columns against hand-computed values.
#include "trainer/ablation/ablation.h"

#include <fstream>

#include <gtest/gtest.h>

#include "tests/test_util.h"

namespace visrl::trainer {
namespace {

using reward::CriticError;
using reward::CriticStatus;
using reward::RolloutRecord;

RolloutRecord record(int64_t step, std::string prompt, int k, std::vector<CriticError> errors,
                     render::RenderStatus render = render::RenderStatus::ok,
                     CriticStatus critic = CriticStatus::scored) {
  RolloutRecord r;
  r.step = step;
  r.sample.id = fmt::format("{}/{}", prompt, k);
  r.sample.group = prompt;
  r.sample.task = reward::Task::chart;
  r.sample.render_status = render;
  r.sample.critic_status = critic;
  r.sample.errors = errors;
  r.sample.response_len = 10;
  r.sample.max_len = 100;
  r.critic.status = critic;
  r.critic.errors = std::move(errors);
  r.answer = "```python\nimport matplotlib\n```";
  return r;
}

// Step 1: p1 = {S 0, S 4, render failure}, p2 = {S 10, parse failure}; step 2: p3 = {S 0, S 0}.
std::filesystem::path write_rollouts(const test::TempDir& dir) {
  std::vector<RolloutRecord> step1 = {
      record(1, "p1", 0, {}),
      record(1, "p1", 1, {{"data_error", 3, "bar 2", "too short"}, {"text_error", 1, "", ""}}),
      record(1, "p1", 2, {}, render::RenderStatus::runtime_error, CriticStatus::not_scored),
      record(1, "p2", 0,
             {{"data_error", 3, "", ""},
              {"data_error", 3, "", ""},
              {"style_error", 2, "", ""},
              {"structure_error", 2, "", ""}}),
      record(1, "p2", 1, {}, render::RenderStatus::ok, CriticStatus::parse_failure),
  };
  std::vector<RolloutRecord> step2 = {record(2, "p3", 0, {}), record(2, "p3", 1, {})};
  auto write = [&](const char* name, const std::vector<RolloutRecord>& records) {
    std::string text;
    for (const auto& r : records) text += to_json(r).dump() + "\n";
    dir.write(fmt::format("rollouts/{}", name), text);
  };
  write("step_1.jsonl", step1);
  write("step_2.jsonl", step2);
  dir.write("rollouts/notes.txt", "not a rollout file");
  return dir / "rollouts";
}

TEST(Ablation, RecordsRoundTripThroughJson) {
  RolloutRecord r = record(3, "p9", 1, {{"data_error", 2, "left", "bars"}});
  r.sample.reference_code = "import matplotlib";
  r.sample.ssim = 0.5;
  r.reward = 1.5;
  r.advantage = -0.25;
  r.components = {{"S", 2}};
  RolloutRecord back = reward::rollout_record_from_json(to_json(r), "here");
  EXPECT_EQ(back.step, 3);
  EXPECT_EQ(back.sample.id, "p9/1");
  EXPECT_EQ(back.sample.errors, r.sample.errors);
  EXPECT_EQ(back.sample.reference_code, r.sample.reference_code);
  EXPECT_EQ(back.sample.ssim, r.sample.ssim);
  EXPECT_EQ(back.reward, r.reward);
  EXPECT_EQ(back.advantage, r.advantage);
  EXPECT_EQ(back.components, r.components);
}

TEST(Ablation, ComparesFormulasOnLoggedRollouts) {
  test::TempDir dir;
  auto records = reward::read_rollouts(write_rollouts(dir));
  ASSERT_EQ(records.size(), 7u);
  EXPECT_EQ(records.back().step, 2);
  auto path = dir.write("formulas.yaml",
                        "adv_estimator: grpo\n"
                        "formulas:\n"
                        "  - name: released\n"
                        "    formula: released_chart_svg\n"
                        "  - formula: paper_no_rsr\n"
                        "  - name: flat\n"
                        "    formula: '1'\n"
                        "    on_failure: {render_failure: 1, parse_failure: 1}\n"
                        "    adv_estimator: dr_grpo\n"
                        "  - name: rpp\n"
                        "    formula: released_chart_svg\n"
                        "    adv_estimator: reinforce_pp\n");
  auto formulas = load_ablation_formulas(path);
  ASSERT_EQ(formulas.size(), 4u);
  auto rows = run_ablation(records, formulas);
  ASSERT_EQ(rows.size(), 4u);
  // REINFORCE++ keeps the order of rewards within a group (p1: 2 > 1.92 > 0).
  EXPECT_GT(rows[3].advantages[0], rows[3].advantages[1]);
  EXPECT_GT(rows[3].advantages[1], rows[3].advantages[2]);

  const AblationRow& released = rows[0];
  const std::vector<double> r0 = {2, 1.92, 0, 1.8, 1.5, 2, 2};
  for (size_t i = 0; i < r0.size(); ++i) EXPECT_DOUBLE_EQ(released.rewards[i], r0[i]) << i;
  EXPECT_EQ(released.groups, 3);
  EXPECT_NEAR(released.zero_variance_groups, 1.0 / 3, 1e-12);  // p3
  double mean = 0;
  for (double r : r0) mean += r / 7;
  EXPECT_NEAR(released.reward_mean, mean, 1e-12);
  EXPECT_DOUBLE_EQ(released.sign_flips, 0.0);

  // paper_no_rsr: batch_max_S of step 1 is 10; the parse failure gets the batch mean.
  const AblationRow& paper = rows[1];
  EXPECT_EQ(paper.name, "paper_no_rsr");
  const double a = 1.0, b = 1 - 4 / (10 + 1e-6), e = 1 - 10 / (10 + 1e-6);
  const std::vector<double> r1 = {a, b, 0, e, (a + b + e) / 3, 1, 1};
  for (size_t i = 0; i < r1.size(); ++i) EXPECT_NEAR(paper.rewards[i], r1[i], 1e-12) << i;
  // p1 ranks the same; p2 swaps its two answers: tau -1 there, and both advantages flip.
  EXPECT_NEAR(*paper.tau_groups, 0.0, 1e-12);
  EXPECT_NEAR(paper.sign_flips, 2.0 / 7, 1e-12);
  ASSERT_TRUE(paper.tau_all.has_value());
  EXPECT_LT(*paper.tau_all, 1.0);
  const double m = (a + b) / 3;  // GRPO in p1: unbiased std over its three answers
  const double sd = std::sqrt(((a - m) * (a - m) + (b - m) * (b - m) + m * m) / 2);
  EXPECT_NEAR(paper.advantages[0], (a - m) / (sd + 1e-6), 1e-12);
  EXPECT_NEAR(paper.advantages[2], -m / (sd + 1e-6), 1e-12);

  // Every answer rewarded 1: all groups flat, advantages 0, no ranking left to compare.
  const AblationRow& flat = rows[2];
  EXPECT_DOUBLE_EQ(flat.zero_variance_groups, 1.0);
  EXPECT_DOUBLE_EQ(flat.reward_std, 0.0);
  EXPECT_FALSE(flat.tau_all.has_value());
  EXPECT_DOUBLE_EQ(flat.sign_flips, 0.0);

  std::string table = format_ablation_table(rows);
  EXPECT_NE(table.find("released"), std::string::npos) << table;
  EXPECT_NE(table.find("n/a"), std::string::npos) << table;
  auto json = ablation_json(rows);
  EXPECT_EQ(json.size(), 4u);
  EXPECT_TRUE(json[2]["tau_all"].is_null());
  EXPECT_NEAR(json[1]["sign_flips"].get<double>(), 2.0 / 7, 1e-12);
}

TEST(Ablation, BadInputNamesFileLineAndKey) {
  test::TempDir dir;
  auto f = dir.write("f.yaml", "formulas:\n  - formula: paper\n  - formula: '1 + oops'\n");
  std::string error = test::expected_error([&] { load_ablation_formulas(f); });
  EXPECT_NE(error.find("f.yaml:3"), std::string::npos) << error;
  EXPECT_NE(error.find("oops"), std::string::npos) << error;
  f = dir.write("g.yaml", "formulas:\n  - formula: paper\n    weights: 3\n");
  error = test::expected_error([&] { load_ablation_formulas(f); });
  EXPECT_NE(error.find("g.yaml:3"), std::string::npos) << error;
  EXPECT_NE(error.find("weights"), std::string::npos) << error;
  f = dir.write("h.yaml", "formulas: []\n");
  error = test::expected_error([&] { load_ablation_formulas(f); });
  EXPECT_NE(error.find("non-empty"), std::string::npos) << error;

  auto good = to_json(record(1, "p1", 0, {})).dump();
  auto bad = to_json(record(1, "p1", 1, {{"data_error", 2, "", ""}}));
  bad["critic"]["errors"][0]["severity"] = 7;
  dir.write("r/step_4.jsonl", good + "\n" + bad.dump() + "\n");
  error = test::expected_error([&] { reward::read_rollouts(dir / "r"); });
  EXPECT_NE(error.find("step_4.jsonl:2"), std::string::npos) << error;
  EXPECT_NE(error.find("critic.errors[0].severity"), std::string::npos) << error;
  dir.write("s/step_1.jsonl", good + "\n{\"step\": 1,\n");
  error = test::expected_error([&] { reward::read_rollouts(dir / "s"); });
  EXPECT_NE(error.find("step_1.jsonl:2: not valid JSON"), std::string::npos) << error;
  error = test::expected_error([&] { reward::read_rollouts(dir / "empty-dir-that-is-missing"); });
  EXPECT_NE(error.find("empty-dir-that-is-missing"), std::string::npos) << error;
}

}  // namespace
}  // namespace visrl::trainer
