// The training curve PNG: series read from metrics.jsonl (nulls and missing keys skipped, bad
// lines named), one panel per metric, a rising metric drawn rising, an empty one marked.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "policy/image/image_processor.h"
#include "tests/test_util.h"
#include "trainer/report/training_curves.h"

namespace visrl::trainer {
namespace {
using ::testing::HasSubstr;

// Rows (y) of the panel's first and last columns where the curve's blue is drawn.
std::pair<int, int> curve_rows(const render::RgbImage& img, int x_first, int x_last, int y0, int y1) {
  auto row_of = [&](int x) {
    for (int y = y0; y < y1; ++y) {
      const auto* p = &img.rgb[(static_cast<size_t>(y) * img.width + x) * 3];
      if (p[2] > 150 && p[0] < 80) return y;  // (31, 120, 181)
    }
    return -1;
  };
  return {row_of(x_first), row_of(x_last)};
}

TEST(TrainingCurves, ReadsTheMetricsAndDrawsARisingRewardRising) {
  visrl::test::TempDir dir;
  std::string lines;
  for (int s = 1; s <= 10; ++s) {
    lines += fmt::format(R"({{"step": {}, "reward_mean": {}, "render_ok_rate": 0.5, "kl": null}})", s, 0.1 * s) + "\n";
  }
  dir.write("metrics.jsonl", lines);
  const auto series = curves_from_metrics(dir / "metrics.jsonl", {"reward_mean", "render_ok_rate", "kl"});
  ASSERT_EQ(series.size(), 3u);
  EXPECT_EQ(series[0].points.size(), 10u);
  EXPECT_DOUBLE_EQ(series[0].points.back().second, 1.0);
  EXPECT_TRUE(series[2].points.empty());

  const auto img = draw_training_curves(series, 900, 720);
  ASSERT_EQ(img.width, 900);
  ASSERT_EQ(img.height, 720);
  // Panel 0 spans y in [0, 240): plot box x from 70 to 880, y from 30 to 210.
  const auto [first, last] = curve_rows(img, 72, 877, 30, 211);
  ASSERT_GE(first, 0);
  ASSERT_GE(last, 0);
  EXPECT_GT(first, last + 100) << "the reward rises: its right end is drawn higher";

  const auto png = write_training_curves(dir.path());
  EXPECT_EQ(png, dir / "training_curves.png");
  EXPECT_EQ(policy::read_image(png).size(1), 900);
}

TEST(TrainingCurves, ABadLineIsNamed) {
  visrl::test::TempDir dir;
  dir.write("metrics.jsonl", "{\"step\": 1}\nnot json\n");
  EXPECT_THAT(visrl::test::error_of([&] { curves_from_metrics(dir / "metrics.jsonl", {"x"}); }),
              HasSubstr("metrics.jsonl:2: not a JSON object"));
}

}  // namespace
}  // namespace visrl::trainer
