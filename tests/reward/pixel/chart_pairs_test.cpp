// The pixel critic on real matplotlib renders (tests/fixtures/pixel_critic): a chart reduced to
// its empty axes must cost more than a near miss, or GRPO learns to draw nothing.
#include <gtest/gtest.h>

#include <algorithm>

#include <fmt/format.h>

#include "render/png_io.h"
#include "reward/pixel/pixel_critic.h"
#include "tests/reward/pixel/describe_errors.h"
#include "tests/test_util.h"

namespace visrl::reward {
namespace {

render::RgbImage fixture(const char* name) {
  return render::read_png(test::source_dir() / "tests/fixtures/pixel_critic" / fmt::format("{}.png", name));
}

TEST(ChartPairs, EmptyAxesLoseTheirSeriesAndTheirTextAndCostMoreThanANearMiss) {
  const auto reference = fixture("line_chart");
  const auto empty = pixel_compare(Task::chart, reference, fixture("empty_axes"));
  const auto near = pixel_compare(Task::chart, reference, fixture("near_miss"));
  // Two saturated series are gone (the grey one is not a mark colour) ...
  EXPECT_EQ(std::count_if(empty.begin(), empty.end(),
                          [](const CriticError& e) {
                            return e.category == "structure_error" && e.severity == 3 &&
                                   e.description.find("marks of colour") != std::string::npos;
                          }),
            2)
      << describe(empty);
  // ... and so are the title, the axis labels and the legend: text findings, one per line of
  // text rather than one per glyph.
  const auto text =
      std::count_if(empty.begin(), empty.end(), [](const CriticError& e) { return e.category == "text_error"; });
  EXPECT_GE(text, 3) << describe(empty);
  EXPECT_LE(text, 8) << describe(empty);
  EXPECT_TRUE(std::any_of(empty.begin(), empty.end(), [](const CriticError& e) {
    return e.description.rfind("text missing: 21 glyph edits", 0) == 0;  // the title
  })) << describe(empty);
  // The near miss: three moved points, one changed letter; no text beyond that letter.
  EXPECT_LE(near.size(), 4u) << describe(near);
  EXPECT_EQ(std::count_if(near.begin(), near.end(), [](const CriticError& e) { return e.category == "text_error"; }), 1)
      << describe(near);
  EXPECT_GT(severity_sum(empty), 2 * severity_sum(near)) << describe(empty) << describe(near);
}

}  // namespace
}  // namespace visrl::reward
