#include "trainer/datagen/chart_gen.h"

#include <fmt/format.h>

namespace visrl::trainer::datagen {
namespace {

std::string python_list(const std::vector<double>& values, int decimals) {
  std::string out = "[";
  for (size_t i = 0; i < values.size(); ++i)
    out += fmt::format("{}{}", i ? ", " : "", format_number(values[i], decimals));
  return out + "]";
}

std::string python_list(const std::vector<std::string>& items) {
  std::string out = "[";
  for (size_t i = 0; i < items.size(); ++i) out += fmt::format("{}{}", i ? ", " : "", python_string(items[i]));
  return out + "]";
}

// "(x1, y1), (x2, y2), ...": the points of a series as pairs, so that an answer copying the
// form cannot write one more x than y (the commonest failure of a small policy writing the
// lists apart: "x and y must have same first dimension").
std::string python_pairs(const std::vector<std::string>& xs, const std::vector<double>& ys, int decimals) {
  std::string out;
  for (size_t i = 0; i < xs.size() && i < ys.size(); ++i)
    out += fmt::format("{}({}, {})", i ? ", " : "", python_string(xs[i]), format_number(ys[i], decimals));
  return out;
}

std::string python_pairs(const std::vector<double>& xs, const std::vector<double>& ys, int decimals) {
  std::string out;
  for (size_t i = 0; i < xs.size() && i < ys.size(); ++i)
    out += fmt::format("{}({}, {})", i ? ", " : "", format_number(xs[i], 1), format_number(ys[i], decimals));
  return out;
}

std::vector<double> random_values(Random& rng, size_t n, double lo, double hi, int decimals) {
  std::vector<double> out(n);
  for (auto& v : out) {
    v = rng.real(lo, hi);
    if (decimals == 0) v = static_cast<double>(static_cast<int64_t>(v));
  }
  return out;
}

}  // namespace

const char* to_string(ChartKind kind) {
  switch (kind) {
    case ChartKind::bar:
      return "bar";
    case ChartKind::grouped_bar:
      return "grouped_bar";
    case ChartKind::line:
      return "line";
    case ChartKind::scatter:
      return "scatter";
    case ChartKind::pie:
      return "pie";
  }
  return "bar";
}

ChartSpec random_chart(Random& rng) {
  ChartSpec s;
  s.kind = static_cast<ChartKind>(rng.integer(0, 4));
  s.title = random_title(rng);
  s.decimals = rng.chance(0.5) ? 0 : 1;
  s.grid = s.kind != ChartKind::pie && rng.chance(0.3);
  const double hi = rng.pick(std::vector<double>{10, 50, 100, 1000});
  int64_t n_series = 1, n_categories = rng.integer(3, 7);
  if (s.kind == ChartKind::grouped_bar) n_series = rng.integer(2, 3);
  if (s.kind == ChartKind::line || s.kind == ChartKind::scatter) n_series = rng.integer(1, 3);
  if (s.kind == ChartKind::pie) n_categories = rng.integer(3, 6);
  if (s.kind != ChartKind::scatter) s.categories = random_categories(rng, n_categories);
  if (s.kind != ChartKind::pie) {
    s.x_label = s.kind == ChartKind::scatter
                    ? random_word(rng)
                    : rng.pick(std::vector<std::string>{"Category", "Period", "Group", random_word(rng)});
    s.y_label = random_word(rng);
  }
  const auto colours = distinct_colours(rng, std::max<int64_t>(n_series, n_categories));
  for (int64_t i = 0; i < n_series; ++i) {
    ChartSeries series;
    series.label = random_word(rng) + (n_series > 1 ? fmt::format(" {}", i + 1) : "");
    series.colour = colours[static_cast<size_t>(i)];
    if (s.kind == ChartKind::scatter) {
      const auto points = static_cast<size_t>(rng.integer(5, 12));
      series.x = random_values(rng, points, 0, 10, 1);
      series.values = random_values(rng, points, 0, hi, s.decimals);
    } else {
      series.values = random_values(rng, s.categories.size(), hi * 0.1, hi, s.decimals);
    }
    s.series.push_back(std::move(series));
  }
  if (s.kind == ChartKind::pie) s.wedge_colours = colours;
  s.legend = s.kind == ChartKind::grouped_bar || n_series > 1 || rng.chance(0.4);
  s.legend_loc = rng.pick(std::vector<std::string>{"best", "upper right", "upper left", "lower right"});
  return s;
}

std::string chart_code(const ChartSpec& s) {
  std::string code = "import matplotlib.pyplot as plt\n";
  if (s.kind == ChartKind::grouped_bar) code += "import numpy as np\n";
  code += "\nfig, ax = plt.subplots(figsize=(6.4, 4.8))\n";
  // Categories and values are written as pairs where the chart allows (not grouped bars).
  if (s.kind == ChartKind::bar || s.kind == ChartKind::pie) {
    code += "categories, values = zip(" + python_pairs(s.categories, s.series[0].values, s.decimals) + ")\n";
  } else if (s.kind == ChartKind::grouped_bar) {
    code += "categories = " + python_list(s.categories) + "\n";
  }
  const auto n = s.series.size();
  switch (s.kind) {
    case ChartKind::bar: {
      const auto& series = s.series[0];
      code += fmt::format("ax.bar(categories, values, color={}, label={})\n", python_string(series.colour),
                          python_string(series.label));
      break;
    }
    case ChartKind::grouped_bar: {
      code += "x = np.arange(len(categories))\n";
      code += fmt::format("width = {:.3f}\n", 0.8 / static_cast<double>(n));
      for (size_t i = 0; i < n; ++i) {
        const auto& series = s.series[i];
        const double offset = static_cast<double>(i) - static_cast<double>(n - 1) / 2.0;
        code += fmt::format("ax.bar(x + ({:.1f}) * width, {}, width, color={}, label={})\n", offset,
                            python_list(series.values, s.decimals), python_string(series.colour),
                            python_string(series.label));
      }
      code += "ax.set_xticks(x)\nax.set_xticklabels(categories)\n";
      break;
    }
    case ChartKind::line:
      for (const auto& series : s.series) {
        code += fmt::format("ax.plot(*zip({}), marker='o', color={}, label={})\n",
                            python_pairs(s.categories, series.values, s.decimals), python_string(series.colour),
                            python_string(series.label));
      }
      break;
    case ChartKind::scatter:
      for (const auto& series : s.series) {
        code +=
            fmt::format("ax.scatter(*zip({}), color={}, label={})\n", python_pairs(series.x, series.values, s.decimals),
                        python_string(series.colour), python_string(series.label));
      }
      break;
    case ChartKind::pie:
      code += "colors = " + python_list(s.wedge_colours) + "\n";
      code += "ax.pie(values, labels=categories, colors=colors, autopct='%1.1f%%', startangle=90)\n";
      code += "ax.axis('equal')\n";
      break;
  }
  code += fmt::format("ax.set_title({})\n", python_string(s.title));
  if (!s.x_label.empty()) code += fmt::format("ax.set_xlabel({})\n", python_string(s.x_label));
  if (!s.y_label.empty()) code += fmt::format("ax.set_ylabel({})\n", python_string(s.y_label));
  if (s.grid) code += "ax.grid(True, alpha=0.3)\n";
  if (s.legend) {
    code += s.kind == ChartKind::pie ? fmt::format("ax.legend(categories, loc={})\n", python_string(s.legend_loc))
                                     : fmt::format("ax.legend(loc={})\n", python_string(s.legend_loc));
  }
  code += "plt.tight_layout()\n";
  return code;
}

}  // namespace visrl::trainer::datagen
