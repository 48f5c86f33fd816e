// summarize_chart_code against what matplotlib drew for the same programs
// (tests/fixtures/chart_code/expected.json: generated charts and hand-written ones), and
// match_charts on hand-made pairs.
#include <nlohmann/json.hpp>

#include <gtest/gtest.h>

#include "reward/metrics/chart_code.h"
#include "tests/test_util.h"

namespace visrl::reward {
namespace {

TEST(ChartCode, ReadsWhatMatplotlibDraws) {
  const auto cases =
      nlohmann::json::parse(test::read_file(test::source_dir() / "tests/fixtures/chart_code/expected.json"));
  ASSERT_GE(cases.size(), 30u);
  for (const auto& c : cases) {
    const std::string code = c["code"];
    const auto s = summarize_chart_code(code);
    EXPECT_EQ(s.kinds, c["kinds"].get<std::set<std::string>>()) << code;
    EXPECT_EQ(s.series, c["series"].get<int64_t>()) << code;
    const auto elements = c["elements"].is_null() ? std::nullopt : std::optional(c["elements"].get<int64_t>());
    EXPECT_EQ(s.elements, elements) << code;
    EXPECT_EQ(s.colours, c["colours"].get<std::set<std::string>>()) << code;
  }
}

ChartCodeSummary summary(std::set<std::string> kinds, int64_t series, std::optional<int64_t> elements,
                         std::set<std::string> colours) {
  return {std::move(kinds), series, elements, std::move(colours)};
}

TEST(ChartCode, MatchesKindsSeriesAndColours) {
  const auto reference = summary({"bar"}, 2, 5, {"#111111", "#222222"});
  auto m = match_charts(summary({"bar"}, 2, 5, {"#111111", "#333333"}), reference);
  EXPECT_TRUE(m.type_match);
  EXPECT_TRUE(m.series_match);
  EXPECT_DOUBLE_EQ(*m.color_match, 0.5);
  m = match_charts(summary({"line"}, 2, std::nullopt, {}), reference);  // lines for bars: the same count
  EXPECT_FALSE(m.type_match);
  EXPECT_FALSE(m.series_match);  // no bars to count
  EXPECT_DOUBLE_EQ(*m.color_match, 0.0);
  EXPECT_FALSE(match_charts(summary({"bar"}, 2, 4, {}), reference).series_match);  // 4 bars, not 5
  EXPECT_FALSE(match_charts(summary({"bar", "line"}, 2, 5, {}), reference).type_match);
  // Empty axes match nothing; a reference without colours has no colour match.
  m = match_charts(summary({}, 0, std::nullopt, {}), summary({}, 0, std::nullopt, {}));
  EXPECT_FALSE(m.type_match);
  EXPECT_FALSE(m.series_match);
  EXPECT_FALSE(m.color_match.has_value());
}

TEST(ChartCode, UnreadableCodeGivesAnEmptySummaryNeverACrash) {
  for (const char* code : {"", "ax.bar(", "ax.bar([1, 2], ", "ax.pie(]", "x = [\nax.plot(", "'''", "ax.bar(x=\"a)",
                           "a, b = zip(,)\nax.bar(a, b)", "ax.bar(*zip((1, 2),, (3, 4)))", "ax.pie(*zip())"}) {
    const auto s = summarize_chart_code(code);
    EXPECT_LE(s.series, 1) << code;
  }
}

}  // namespace
}  // namespace visrl::reward
