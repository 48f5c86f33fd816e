// Synthetic charts: a random specification (kind, data, title, axis labels, legend, colours)
// and the matplotlib code that draws it. The specification is kept so that corruptions can
// change one thing and say what they changed.
#pragma once

#include <string>
#include <vector>

#include "trainer/datagen/vocabulary.h"

namespace visrl::trainer::datagen {

enum class ChartKind { bar, grouped_bar, line, scatter, pie };
const char* to_string(ChartKind kind);

struct ChartSeries {
  std::string label;
  std::vector<double> x;       // scatter only: the x of each point
  std::vector<double> values;  // one per category (bar, line, pie) or point (scatter)
  std::string colour;          // "#rrggbb"
};

struct ChartSpec {
  ChartKind kind = ChartKind::bar;
  std::string title, x_label, y_label;     // pie: no axis labels
  std::vector<std::string> categories;     // bar, grouped bar, line, pie
  std::vector<ChartSeries> series;         // pie: one, with a colour per category in wedge_colours
  std::vector<std::string> wedge_colours;  // pie only
  int decimals = 0;                        // how the values are written
  bool legend = true;
  std::string legend_loc = "best";
  bool grid = false;
};

ChartSpec random_chart(Random& rng);
// Plain matplotlib (pyplot + numpy), ending with plt.tight_layout(); the renderer saves the
// current figure.
std::string chart_code(const ChartSpec& spec);

}  // namespace visrl::trainer::datagen
