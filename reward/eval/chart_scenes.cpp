// Chart-like scenes drawn as SVG (no Python needed): axes with ticks and tick labels, bars,
// lines or points in palette colours, a title, axis labels and a framed legend.
//
// Severities: a value changed by d of the axis range: d < 0.1 -> 1, < 0.25 -> 2, else 3
// (data_error); a series recoloured to a shade -> 1, to another hue -> 2, every series
// recoloured -> 3 (style_error); one letter of a label -> 1, a word of the title or the axis
// label replaced -> 2, the whole title replaced -> 3 (text_error); legend removed -> 2, axes
// removed, another chart type or a series removed -> 3 (structure_error).
#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "reward/eval/scenes.h"

namespace visrl::reward::eval {

namespace {

enum class Kind { bar, line, scatter };

struct Series {
  std::string name;
  std::string colour;
  std::vector<double> values;  // in [0, ymax]
  std::vector<double> xs;      // scatter only, in [0, 1] of the x range
};

struct Chart {
  Kind kind = Kind::bar;
  int width = 640, height = 480;
  std::vector<std::string> title;  // words
  std::string xlabel, ylabel;
  std::vector<std::string> categories;
  std::vector<Series> series;
  double ymax = 100;
  bool legend = true, axes = true, grid = false;
};

double round1(double v) {
  return std::round(v * 10.0) / 10.0;
}

struct Frame {
  double left, right, top, bottom;
};

Frame frame_of(const Chart& c) {
  return {0.125 * c.width, 0.78 * c.width, 0.125 * c.height, 0.855 * c.height};
}

std::string emit(const Chart& c, bool alt) {
  auto n = [&](double v) { return alt ? fmt::format("{:.2f}", round1(v)) : fmt::format("{:.1f}", round1(v)); };
  auto text = [&](double x, double y, int size, const std::string& anchor, const std::string& body,
                  const std::string& extra = "") {
    return fmt::format(
        "<text x=\"{}\" y=\"{}\" font-family=\"DejaVu Sans\" font-size=\"{}\" fill=\"#222222\" "
        "text-anchor=\"{}\"{}>{}</text>\n",
        n(x), n(y), size, anchor, extra, body);
  };
  const Frame f = frame_of(c);
  const double pw = f.right - f.left, ph = f.bottom - f.top;
  auto ypos = [&](double v) { return f.bottom - v / c.ymax * ph; };
  const size_t nc = c.categories.size();
  const double slot = nc > 0 ? pw / static_cast<double>(nc) : pw;
  auto xcat = [&](size_t i) { return f.left + slot * (static_cast<double>(i) + 0.5); };

  std::string out = fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{0}\" height=\"{1}\" viewBox=\"0 0 {0} {1}\">\n"
      "<rect x=\"0\" y=\"0\" width=\"{0}\" height=\"{1}\" fill=\"#ffffff\" />\n",
      c.width, c.height);
  if (c.axes && c.grid)
    for (int t = 1; t <= 5; ++t)
      out += fmt::format("<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"#dddddd\" stroke-width=\"1\" />\n",
                         n(f.left), n(ypos(c.ymax * t / 5)), n(f.right), n(ypos(c.ymax * t / 5)));
  // Marks.
  const size_t ns = c.series.size();
  for (size_t s = 0; s < ns; ++s) {
    const Series& se = c.series[s];
    if (c.kind == Kind::bar) {
      const double group = 0.7 * slot, bw = group / static_cast<double>(ns);
      for (size_t i = 0; i < se.values.size(); ++i) {
        const double x = xcat(i) - group / 2 + bw * static_cast<double>(s), y = ypos(se.values[i]);
        out += alt ? fmt::format("<rect fill=\"{}\" x=\"{}\" y=\"{}\" height=\"{}\" width=\"{}\"/>\n", se.colour, n(x),
                                 n(y), n(f.bottom - y), n(bw))
                   : fmt::format("<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{}\" />\n", n(x), n(y),
                                 n(bw), n(f.bottom - y), se.colour);
      }
    } else {
      std::vector<std::pair<double, double>> pts;
      for (size_t i = 0; i < se.values.size(); ++i) {
        const double x = c.kind == Kind::line ? xcat(i) : f.left + se.xs[i] * pw;
        pts.emplace_back(x, ypos(se.values[i]));
      }
      if (c.kind == Kind::line) {
        std::vector<std::string> p;
        for (const auto& [x, y] : pts) p.push_back(fmt::format("{},{}", n(x), n(y)));
        out += fmt::format("<polyline points=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"2\" />\n",
                           fmt::join(p, " "), se.colour);
      }
      const double r = c.kind == Kind::line ? 3.5 : 4.5;
      for (const auto& [x, y] : pts)
        out += fmt::format("<circle cx=\"{}\" cy=\"{}\" r=\"{}\" fill=\"{}\" />\n", n(x), n(y), n(r), se.colour);
    }
  }
  if (c.axes) {
    out += fmt::format("<path d=\"M{},{} V{} H{}\" fill=\"none\" stroke=\"#333333\" stroke-width=\"1.2\" />\n",
                       n(f.left), n(f.top), n(f.bottom), n(f.right));
    for (int t = 0; t <= 5; ++t) {
      const double v = c.ymax * t / 5, y = ypos(v);
      out += fmt::format("<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"#333333\" stroke-width=\"1.2\" />\n",
                         n(f.left - 5), n(y), n(f.left), n(y));
      out += text(f.left - 8, y + 4, 12, "end", fmt::format("{:g}", v));
    }
    if (c.kind == Kind::scatter) {
      for (int t = 0; t <= 4; ++t)
        out += text(f.left + pw * t / 4, f.bottom + 18, 12, "middle", fmt::format("{}", t * 25));
    } else {
      for (size_t i = 0; i < nc; ++i) out += text(xcat(i), f.bottom + 18, 12, "middle", c.categories[i]);
    }
    out += text((f.left + f.right) / 2, f.bottom + 42, 13, "middle", c.xlabel);
    out += text(0.04 * c.width, (f.top + f.bottom) / 2, 13, "middle", c.ylabel,
                fmt::format(" transform=\"rotate(-90 {} {})\"", n(0.04 * c.width), n((f.top + f.bottom) / 2)));
  }
  std::string title;
  for (const auto& w : c.title) title += (title.empty() ? "" : " ") + w;
  out += text((f.left + f.right) / 2, f.top - 22, 18, "middle", title);
  if (c.legend && ns > 0) {
    const double lx = 0.8 * c.width, ly = f.top + 10, lw = 0.18 * c.width;
    out += fmt::format(
        "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"#ffffff\" stroke=\"#999999\" stroke-width=\"1\" "
        "/>\n",
        n(lx), n(ly), n(lw), n(12 + 22.0 * static_cast<double>(ns)));
    for (size_t s = 0; s < ns; ++s) {
      const double y = ly + 17 + 22.0 * static_cast<double>(s);
      const std::string& colour = c.series[s].colour;
      if (c.kind == Kind::bar)
        out += fmt::format("<rect x=\"{}\" y=\"{}\" width=\"14\" height=\"12\" fill=\"{}\" />\n", n(lx + 8), n(y - 6),
                           colour);
      else
        out += fmt::format("<circle cx=\"{}\" cy=\"{}\" r=\"4.5\" fill=\"{}\" />\n", n(lx + 15), n(y), colour);
      out += text(lx + 30, y + 4, 12, "start", c.series[s].name);
    }
  }
  return out + "</svg>\n";
}

const std::vector<std::string> kTitleFirst = {"Quarterly", "Annual", "Monthly", "Regional", "Total", "Average"};
const std::vector<std::string> kTitleMiddle = {"sales", "revenue", "output", "demand", "traffic", "costs", "growth"};
const std::vector<std::string> kTitleLast = {"region", "month", "team", "product", "year", "store"};
const std::vector<std::string> kXLabels = {"Region", "Month", "Team", "Product", "Year", "Store"};
const std::vector<std::string> kYLabels = {"Revenue", "Units", "Count", "Score", "Value", "Share"};
const std::vector<std::string> kCategories = {"north", "south", "east", "west", "alpha", "beta", "gamma",
                                              "delta", "jan",   "feb",  "mar",  "apr",   "may",  "june"};

Chart make_chart(Random& random, const SyntheticOptions& options) {
  Chart c;
  c.width = options.chart_width;
  c.height = options.chart_height;
  c.kind = static_cast<Kind>(random.integer(0, 2));
  c.title = {random.pick(kTitleFirst), random.pick(kTitleMiddle), "by", random.pick(kTitleLast)};
  c.xlabel = random.pick(kXLabels);
  c.ylabel = random.pick(kYLabels);
  c.ymax = random.pick(std::vector<double>{10, 20, 50, 100, 200, 500});
  c.grid = random.chance(0.4);
  std::vector<std::string> cats = kCategories;
  random.shuffle(cats);
  cats.resize(static_cast<size_t>(random.integer(3, 7)));
  c.categories = cats;
  std::vector<std::string> colours = mark_colours();
  random.shuffle(colours);
  std::vector<std::string> names = nouns();
  random.shuffle(names);
  const int ns = random.integer(1, 3);
  const size_t points = c.kind == Kind::scatter ? static_cast<size_t>(random.integer(6, 12)) : cats.size();
  for (int s = 0; s < ns; ++s) {
    Series se;
    se.name = names[static_cast<size_t>(s)];
    se.colour = colours[static_cast<size_t>(s)];
    for (size_t i = 0; i < points; ++i) {
      se.values.push_back(round1(random.real(0.15, 0.9) * c.ymax));
      if (c.kind == Kind::scatter) se.xs.push_back(round1(random.real(0.04, 0.96) * 100) / 100);
    }
    if (c.kind == Kind::scatter) std::sort(se.xs.begin(), se.xs.end());
    c.series.push_back(se);
  }
  return c;
}

enum class Corruption { data, style, text, structure };

InjectedError change_value(Random& random, Chart& c, int series, bool heavy) {
  Series& se = c.series[static_cast<size_t>(series)];
  const size_t i = static_cast<size_t>(random.integer(0, static_cast<int>(se.values.size()) - 1));
  const double want = (heavy ? random.real(0.3, 0.5) : random.real(0.06, 0.2)) * c.ymax;
  const double v = se.values[i];
  double next = random.chance(0.5) ? v + want : v - want;
  if (next > c.ymax || next < 0.03 * c.ymax) next = next > c.ymax ? v - want : v + want;
  next = round1(std::clamp(next, 0.03 * c.ymax, c.ymax));
  const double d = std::abs(next - v) / c.ymax;
  se.values[i] = next;
  return {"data_error", d < 0.1 ? 1 : (d < 0.25 ? 2 : 3),
          fmt::format("value {} of {} is {:g} instead of {:g}", i + 1, se.name, next, v)};
}

InjectedError corrupt(Random& random, Chart& c, Corruption kind, bool heavy, int data_series) {
  switch (kind) {
    case Corruption::data:
      return change_value(random, c, data_series, heavy);
    case Corruption::style: {
      std::vector<std::string> used;
      for (const auto& s : c.series) used.push_back(s.colour);
      auto fresh = [&](const std::string& from) {
        for (int tries = 0; tries < 20; ++tries) {
          const std::string colour = distant_colour(random, from);
          if (std::find(used.begin(), used.end(), colour) == used.end()) return colour;
        }
        return distant_colour(random, from);
      };
      if (heavy) {
        for (auto& s : c.series) s.colour = fresh(s.colour), used.push_back(s.colour);
        return {"style_error", 3, "every series has another colour"};
      }
      Series& s = c.series[static_cast<size_t>(random.integer(0, static_cast<int>(c.series.size()) - 1))];
      const std::string before = s.colour;
      const bool subtle = random.chance(0.35);
      s.colour = subtle ? shade(before, 0.3) : fresh(before);
      return {"style_error", subtle ? 1 : 2, fmt::format("series {} is {} instead of {}", s.name, s.colour, before)};
    }
    case Corruption::text: {
      if (heavy) {
        const std::vector<std::string> before = c.title;
        c.title = {other_word(random, kTitleFirst, before[0]), other_word(random, kTitleMiddle, before[1]), "per",
                   other_word(random, kTitleLast, before[3])};
        return {"text_error", 3, "the title is entirely different"};
      }
      switch (random.integer(0, 2)) {
        case 0: {
          const std::string before = c.title[1];
          const bool letter = random.chance(0.5);
          c.title[1] = letter ? typo(random, before) : other_word(random, kTitleMiddle, before);
          return {"text_error", letter ? 1 : 2, fmt::format("title word \"{}\" instead of \"{}\"", c.title[1], before)};
        }
        case 1: {
          if (c.axes && c.kind != Kind::scatter) {
            std::string& label =
                c.categories[static_cast<size_t>(random.integer(0, static_cast<int>(c.categories.size()) - 1))];
            const std::string before = label;
            label = typo(random, before);
            return {"text_error", 1, fmt::format("tick label \"{}\" instead of \"{}\"", label, before)};
          }
          [[fallthrough]];
        }
        default: {
          const std::string before = c.ylabel;
          c.ylabel = other_word(random, kYLabels, before);
          return {"text_error", 2, fmt::format("axis label \"{}\" instead of \"{}\"", c.ylabel, before)};
        }
      }
    }
    case Corruption::structure: {
      if (!heavy) {
        c.legend = false;
        return {"structure_error", 2, "the legend is missing"};
      }
      std::vector<int> options = {0, 1};  // axes removed, chart type changed
      if (c.series.size() >= 2) options.push_back(2);
      switch (random.pick(options)) {
        case 0:
          c.axes = false;
          return {"structure_error", 3, "the axes, ticks and axis labels are missing"};
        case 1: {
          const Kind before = c.kind;
          c.kind = before == Kind::bar ? Kind::line : Kind::bar;
          if (before == Kind::scatter) {  // the values as a line over unlabelled categories
            c.kind = Kind::line;
            c.categories.assign(c.series[0].values.size(), "");
          }
          return {"structure_error", 3, "a different chart type"};
        }
        default: {
          // Never the series that carries the data change (index 0 when there is one).
          c.series.pop_back();
          return {"structure_error", 3, "a series is missing"};
        }
      }
    }
  }
  return {};
}

}  // namespace

SceneSources chart_triple(Random& random, const SyntheticOptions& options) {
  const Chart chart = make_chart(random, options);
  SceneSources out;
  out.reference = emit(chart, false);
  out.clean = emit(chart, true);

  const std::vector<Corruption> all = {Corruption::data, Corruption::style, Corruption::text, Corruption::structure};
  for (;;) {
    Chart light = chart;
    const InjectedError e = corrupt(random, light, random.pick(all), false, 0);
    if (e.severity > 2) continue;
    out.light_errors.push_back(e);
    out.light = emit(light, false);
    break;
  }
  // Heavy: three of the four categories, in enum order so that the structural change goes
  // last (a changed value stays visible in the new chart type; a removed series is never the
  // first one, which carries the data change).
  Chart heavy = chart;
  std::vector<Corruption> kinds = all;
  random.shuffle(kinds);
  kinds.resize(3);
  std::sort(kinds.begin(), kinds.end());
  for (Corruption kind : kinds) out.heavy_errors.push_back(corrupt(random, heavy, kind, true, 0));
  out.heavy = emit(heavy, false);
  return out;
}

}  // namespace visrl::reward::eval
