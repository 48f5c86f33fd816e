#include "reward/pixel/chart_marks.h"

#include <algorithm>
#include <map>
#include <set>
#include <tuple>
#include <utility>
#include <vector>

#include <fmt/format.h>

namespace visrl::reward::pixel {
namespace {

// Per element, its mean thickness: twice its area over its rim (pixels with a 4-neighbour
// outside it). A bar w wide is about w thick, a 2 px line with markers 2-4 px however long
// or winding its path; a box-based measure took a winding line for a bar.
std::vector<double> thickness(const Components& elements) {
  std::vector<int64_t> rim(elements.items.size(), 0);
  const int w = elements.width, h = elements.height;
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      const int32_t l = elements.at(x, y);
      if (l < 0) continue;
      const bool edge = x == 0 || y == 0 || x == w - 1 || y == h - 1 || elements.at(x - 1, y) != l ||
                        elements.at(x + 1, y) != l || elements.at(x, y - 1) != l || elements.at(x, y + 1) != l;
      rim[static_cast<size_t>(l)] += edge;
    }
  std::vector<double> out(rim.size());
  for (size_t e = 0; e < rim.size(); ++e)
    out[e] = 2.0 * static_cast<double>(elements.items[e].area) / static_cast<double>(std::max<int64_t>(rim[e], 1));
  return out;
}

// The solid marks of a chart: bars and pie wedges, of any colour (grey bars too). Elements of
// at least `min_area` pixels (scatter points, legend handles and clumps of them are smaller),
// thicker than `min_thickness` (`thick`; axes, grid lines, legend frames and plotted lines
// are thinner) and not pale (`kSolidContrast` from the background: a bar seen through the
// legend, about 50) are projected, per colour, on the x axis and on
// the y axis; overlapping or touching projections are one mark, so that a bar cut by a grid
// line or by the legend, or a wedge cut by its label, stays one. Per colour the
// axis that separates more marks counts (vertical bars share their y range, horizontal ones
// their x range). Returns the number of marks and their box.
constexpr int kSolidContrast = 64;
std::pair<size_t, Box> solid_marks(const ImageAnalysis& an, const std::vector<double>& thick, double min_area,
                                   double min_thickness) {
  struct Span {
    int lo, hi;
    Box box;
  };
  std::map<int, std::vector<const Component*>> by_colour;
  for (size_t e = 0; e < an.elements.items.size(); ++e) {
    const Component& c = an.elements.items[e];
    if (c.cls < 0 || an.glyph_like[e] || static_cast<double>(c.area) < min_area) continue;
    if (thick[e] < min_thickness) continue;
    if (colour_distance(an.palette[static_cast<size_t>(c.cls)], an.background) < kSolidContrast) continue;
    by_colour[c.cls].push_back(&c);
  }
  auto count_along = [&](const std::vector<const Component*>& parts, bool x_axis, Box& all) {
    std::vector<Span> spans;
    for (const Component* c : parts)
      spans.push_back({x_axis ? c->box.x0 : c->box.y0, x_axis ? c->box.x1 : c->box.y1, c->box});
    std::sort(spans.begin(), spans.end(), [](const Span& p, const Span& q) { return p.lo < q.lo; });
    std::vector<Span> merged;
    for (const Span& s : spans) {
      if (!merged.empty() && s.lo <= merged.back().hi + 2) {
        merged.back().hi = std::max(merged.back().hi, s.hi);
        merged.back().box.add(s.box);
      } else {
        merged.push_back(s);
      }
    }
    // Every part covers min_area, so every span is a mark.
    Box box;
    for (const Span& m : merged) box.add(m.box);
    const size_t n = merged.size();
    if (n > 0) all.add(box);
    return n;
  };
  size_t total = 0;
  Box all;
  for (const auto& [cls, parts] : by_colour) {
    Box bx, by;
    const size_t nx = count_along(parts, true, bx), ny = count_along(parts, false, by);
    total += std::max(nx, ny);
    if (std::max(nx, ny) > 0) all.add(nx >= ny ? bx : by);
  }
  return {total, all};
}

// The kinds of marks a chart draws, read from its elements: plotted lines (thin, across a
// quarter of the width or more, neither near black like the axes nor pale like grid lines and
// legend frames; the antialiased edge of a tall bar is not one), points (at least three
// small round elements of a colour that draws nothing larger: a scatter plot; a line's markers
// are part of the line, and the holes of labels on a wedge are the wedge's colour)
// and solid marks (bars, wedges: solid_marks). A bit set of these, and the number of colours
// that draw lines or points (`series`).
constexpr int kNearBlack = 80;
unsigned mark_kinds(const ImageAnalysis& an, const std::vector<double>& thick, int width, size_t solid, double min_area,
                    double min_thickness, size_t& series) {
  unsigned kinds = solid > 0 ? kMarkSolid : 0u;
  std::set<int> series_colours;
  std::map<int, int> points;  // colour -> small round elements
  std::set<int> large;        // colours with an element of min_area or more (bars, wedges, lines)
  for (size_t e = 0; e < an.elements.items.size(); ++e) {
    const Component& c = an.elements.items[e];
    if (c.cls < 0 || an.glyph_like[e]) continue;
    const Colour colour = an.palette[static_cast<size_t>(c.cls)];
    if (colour_distance(colour, Colour{0, 0, 0}) <= kNearBlack ||
        colour_distance(colour, an.background) < kSolidContrast)
      continue;
    const int w = c.box.width(), h = c.box.height(), longer = std::max(w, h);
    const double area = static_cast<double>(c.area);
    if (area >= min_area) large.insert(c.cls);
    if (4 * w >= width && thick[e] < min_thickness) {
      kinds |= kMarkLines;
      series_colours.insert(c.cls);
    }
    if (area >= 9 && area < min_area && 5 * longer <= 8 * std::min(w, h) && 2 * area >= static_cast<double>(w) * h)
      ++points[c.cls];
  }
  for (const auto& [cls, n] : points)
    if (n >= 3 && !large.count(cls)) {
      kinds |= kMarkPoints;
      series_colours.insert(cls);
    }
  series = series_colours.size();
  return kinds;
}

}  // namespace

std::string describe_mark_kinds(unsigned kinds) {
  std::vector<std::string> names;
  if (kinds & kMarkLines) names.push_back("lines");
  if (kinds & kMarkPoints) names.push_back("points");
  if (kinds & kMarkSolid) names.push_back("bars or wedges");
  return names.empty() ? "no marks" : fmt::format("{}", fmt::join(names, " and "));
}

ChartMarks read_chart_marks(const ImageAnalysis& analysis, int width, int height, const PixelCriticOptions& options) {
  const double min_area = options.solid_mark_area * width * height;
  const double min_thickness = options.solid_mark_thickness * std::min(width, height);
  ChartMarks marks;
  const std::vector<double> thick = thickness(analysis.elements);
  std::tie(marks.solid, marks.solid_box) = solid_marks(analysis, thick, min_area, min_thickness);
  marks.kinds = mark_kinds(analysis, thick, width, marks.solid, min_area, min_thickness, marks.series);
  return marks;
}

}  // namespace visrl::reward::pixel
