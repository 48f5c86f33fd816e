// What a matplotlib program draws, read from its text without running it: the kinds of plot
// calls, one series per call, the bars of the first bar call or the slices of a pie, and the
// colours the figure shows (colour literals, and matplotlib's default cycle C0..C9 for a call
// that names none). The chart metrics of validation and eval compare an answer's summary with
// its ground truth's: chart/type_match, chart/series_match, chart/color_match.
// Checked against matplotlib's own figure (tests/fixtures/chart_code/generate.py).
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>

namespace visrl::reward {

struct ChartCodeSummary {
  std::set<std::string> kinds;      // bar, barh, line, scatter, pie, area, hist, box
  int64_t series = 0;               // plot calls: one series (or one pie) each
  std::optional<int64_t> elements;  // bars of the first bar/barh call, slices of the first pie; unknown when
                                    // the data is not a literal list (or a name bound to one)
  std::set<std::string> colours;    // "#rrggbb", lower case
};

ChartCodeSummary summarize_chart_code(std::string_view code);

struct ChartMatch {
  bool type_match = false;            // the same set of plot kinds, and at least one
  bool series_match = false;          // the same number of series, and of bars / slices
  std::optional<double> color_match;  // share of the reference's colours in the answer; none without colours
};

ChartMatch match_charts(const ChartCodeSummary& answer, const ChartCodeSummary& reference);

}  // namespace visrl::reward
