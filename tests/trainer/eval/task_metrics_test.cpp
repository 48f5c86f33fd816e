// Task metrics of a record (which metric each task gets, failures counted as the worst), their
// summary, and the best-validation rules.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/error.h"
#include "reward/metrics/edit_distance.h"
#include "reward/metrics/teds.h"
#include "tests/test_util.h"
#include "trainer/eval/best_policy.h"
#include "trainer/eval/task_metrics.h"

namespace visrl::trainer {
namespace {

const char* kTable = "| a | b |\n|---|---|\n| 1 | 2 |\n| 3 | 4 |\n";
const char* kOtherTable = "| a | b |\n|---|---|\n| 1 | 2 |\n";

reward::RolloutRecord record(render::RenderKind task, render::RenderStatus status) {
  reward::RolloutRecord r;
  r.sample.task = task;
  r.sample.render_status = status;
  r.sample.critic_status =
      status == render::RenderStatus::ok ? reward::CriticStatus::scored : reward::CriticStatus::not_scored;
  return r;
}

TEST(TaskMetrics, TablesAreComparedAsTextWithTheGroundTruth) {
  auto r = record(render::RenderKind::table, render::RenderStatus::ok);
  r.sample.reference_code = kTable;
  r.sample.answer_code = kTable;
  r.sample.ssim = 0.9;
  r.sample.errors = {{"text_error", 2, "", "x"}, {"layout_error", 3, "", "y"}};
  r.reward = 0.5;
  auto s = task_scores(r);
  EXPECT_TRUE(s.rendered);
  EXPECT_DOUBLE_EQ(s.ssim, 0.9);
  EXPECT_DOUBLE_EQ(*s.teds, 1.0);
  EXPECT_DOUBLE_EQ(*s.teds_s, 1.0);
  EXPECT_DOUBLE_EQ(*s.edit_distance, 0.0);
  EXPECT_FALSE(s.mse.has_value());
  EXPECT_EQ(*s.severity, 5);
  EXPECT_DOUBLE_EQ(*s.reward, 0.5);

  r.sample.answer_code = kOtherTable;
  s = task_scores(r);
  const auto t = reward::teds(kOtherTable, kTable);
  EXPECT_DOUBLE_EQ(*s.teds, t.teds);
  EXPECT_DOUBLE_EQ(*s.teds_s, t.teds_s);
  EXPECT_LT(*s.teds, 1.0);
  EXPECT_DOUBLE_EQ(*s.edit_distance, reward::normalized_edit_distance(kOtherTable, kTable));

  // No code at all: the worst of each, and no critic verdict.
  r = record(render::RenderKind::table, render::RenderStatus::no_code);
  r.sample.reference_code = kTable;
  s = task_scores(r);
  EXPECT_FALSE(s.rendered);
  EXPECT_DOUBLE_EQ(s.ssim, 0.0);
  EXPECT_DOUBLE_EQ(*s.teds, 0.0);
  EXPECT_DOUBLE_EQ(*s.edit_distance, 1.0);
  EXPECT_FALSE(s.severity.has_value());

  // Without ground truth there is nothing to compare the text with.
  r.sample.reference_code.reset();
  EXPECT_FALSE(task_scores(r).teds.has_value());
}

TEST(TaskMetrics, SvgGetsPixelMseChartsOnlySsim) {
  auto r = record(render::RenderKind::svg, render::RenderStatus::ok);
  r.sample.ssim = 0.75;
  r.mse = 0.02;
  auto s = task_scores(r);
  EXPECT_DOUBLE_EQ(s.ssim, 0.75);
  EXPECT_DOUBLE_EQ(*s.mse, 0.02);
  EXPECT_EQ(*s.severity, 0);
  r = record(render::RenderKind::svg, render::RenderStatus::runtime_error);
  r.sample.ssim = 0.75;  // stale values of a failed render are not used
  r.mse = 0.02;
  s = task_scores(r);
  EXPECT_DOUBLE_EQ(s.ssim, 0.0);
  EXPECT_DOUBLE_EQ(*s.mse, 1.0);
  r = record(render::RenderKind::chart, render::RenderStatus::ok);
  r.sample.ssim = 0.5;
  s = task_scores(r);
  EXPECT_FALSE(s.mse || s.teds || s.edit_distance);
  const auto j = to_json(s);
  EXPECT_EQ(j["ssim"], 0.5);
  EXPECT_FALSE(j.contains("teds"));
  EXPECT_FALSE(s.type_match || s.series_match || s.color_match);  // no ground truth
}

TEST(TaskMetrics, ChartsWithGroundTruthGetTypeSeriesAndColourMatch) {
  const char* pie = "ax.pie([1, 2, 3], colors=['#111111', '#222222', '#333333'])\n";
  auto r = record(render::RenderKind::chart, render::RenderStatus::ok);
  r.sample.reference_code = pie;
  r.sample.answer_code = "ax.pie([3, 2, 1], colors=['#111111', '#222222', '#333333'])\n";
  auto s = task_scores(r);
  EXPECT_EQ(*s.type_match, 1.0);
  EXPECT_EQ(*s.series_match, 1.0);
  EXPECT_EQ(*s.color_match, 1.0);
  r.sample.answer_code = "ax.bar(['a', 'b'], [3, 2], color='#222222')\n";  // bars, 2 of them, 1 colour of 3
  s = task_scores(r);
  EXPECT_EQ(*s.type_match, 0.0);
  EXPECT_EQ(*s.series_match, 0.0);
  EXPECT_DOUBLE_EQ(*s.color_match, 1.0 / 3.0);
  r.sample.answer_code = pie;  // the right code that did not render draws nothing
  r.sample.render_status = render::RenderStatus::timeout;
  s = task_scores(r);
  EXPECT_EQ(*s.type_match, 0.0);
  EXPECT_EQ(*s.color_match, 0.0);
  TaskMetricsSummary summary;
  summary.add(render::RenderKind::chart, s);
  EXPECT_EQ(summary.flat()["chart/type_match"], 0.0);
}

TEST(TaskMetrics, SummaryMeansPerTaskAndPooled) {
  TaskMetricsSummary summary;
  TaskScores table_a;
  table_a.rendered = true;
  table_a.ssim = 0.8;
  table_a.teds = 1.0;
  table_a.teds_s = 1.0;
  table_a.edit_distance = 0.0;
  table_a.reward = 2.0;
  table_a.severity = 0;
  TaskScores table_b;  // not rendered, no ground truth
  table_b.reward = -1.0;
  TaskScores svg;
  svg.rendered = true;
  svg.ssim = 0.6;
  svg.mse = 0.1;
  svg.severity = 4;
  svg.reward = 1.0;
  summary.add(render::RenderKind::table, table_a);
  summary.add(render::RenderKind::table, table_b);
  summary.add(render::RenderKind::svg, svg);

  const auto j = summary.to_json();
  EXPECT_EQ(j["table"]["items"], 2);
  EXPECT_DOUBLE_EQ(j["table"]["render_ok_rate"].get<double>(), 0.5);
  EXPECT_DOUBLE_EQ(j["table"]["ssim"].get<double>(), 0.4);
  EXPECT_DOUBLE_EQ(j["table"]["teds"].get<double>(), 1.0);
  EXPECT_EQ(j["table"]["teds_items"], 1);  // only one table had ground truth
  EXPECT_DOUBLE_EQ(j["table"]["reward_mean"].get<double>(), 0.5);
  EXPECT_FALSE(j["table"].contains("reward_mean_items"));
  EXPECT_DOUBLE_EQ(j["svg"]["mse"].get<double>(), 0.1);
  EXPECT_FALSE(j.contains("chart"));
  EXPECT_EQ(j["all"]["items"], 3);
  EXPECT_NEAR(j["all"]["render_ok_rate"].get<double>(), 2.0 / 3.0, 1e-15);
  EXPECT_NEAR(j["all"]["ssim"].get<double>(), 1.4 / 3.0, 1e-15);
  EXPECT_DOUBLE_EQ(j["all"]["severity_mean"].get<double>(), 2.0);

  const auto flat = summary.flat();
  EXPECT_DOUBLE_EQ(flat["table/teds"].get<double>(), 1.0);
  EXPECT_DOUBLE_EQ(flat["teds"].get<double>(), 1.0);
  EXPECT_DOUBLE_EQ(flat["mse"].get<double>(), 0.1);
  EXPECT_FALSE(flat.contains("ssim"));  // validation's ssim_mean already is the pooled SSIM
  EXPECT_FALSE(flat.contains("reward_mean"));

  const auto table = summary.table();
  ASSERT_EQ(table.size(), 4u);  // header, svg, table, all
  EXPECT_THAT(table[0], ::testing::HasSubstr("teds_s"));
  EXPECT_THAT(table[1], ::testing::StartsWith("svg"));
  EXPECT_THAT(table[2], ::testing::HasSubstr("1.0000"));
  EXPECT_THAT(table[3], ::testing::StartsWith("all"));
}

TEST(BestValidation, MaxMinTiesAndMissingMetrics) {
  std::optional<BestValidation> best;
  EXPECT_TRUE(improves("max", -5.0, best));
  best = BestValidation{"reward_mean", "max", 3, 1.0};
  EXPECT_TRUE(improves("max", 1.5, best));
  EXPECT_FALSE(improves("max", 1.0, best));  // a tie keeps the earlier policy
  EXPECT_FALSE(improves("max", 0.5, best));
  EXPECT_TRUE(improves("min", 0.5, best));
  EXPECT_FALSE(improves("min", 1.0, best));

  const nlohmann::json metrics = {{"reward_mean", 0.25}, {"table/teds", 0.5}, {"skipped", "x"}};
  EXPECT_EQ(*metric_value(metrics, "table/teds"), 0.5);
  EXPECT_FALSE(metric_value(metrics, "teds").has_value());
  EXPECT_FALSE(metric_value(metrics, "skipped").has_value());
}

TEST(BestValidation, RecordRoundTripAndMalformedFiles) {
  test::TempDir dir;
  EXPECT_FALSE(read_best_validation(dir.path()).has_value());
  const BestValidation b{"ssim_mean", "min", 12, 0.125};
  dir.write(kBestValidationFile, to_json(b).dump());
  const auto back = read_best_validation(dir.path());
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->metric, "ssim_mean");
  EXPECT_EQ(back->mode, "min");
  EXPECT_EQ(back->step, 12);
  EXPECT_EQ(back->value, 0.125);
  dir.write(kBestValidationFile, R"({"metric": "x", "mode": "max", "step": "twelve", "value": 1})");
  try {
    read_best_validation(dir.path());
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), ::testing::HasSubstr(kBestValidationFile));
    EXPECT_EQ(e.kind(), ErrorKind::format);
  }
}

}  // namespace
}  // namespace visrl::trainer
