#include "trainer/report/training_curves.h"

#include <algorithm>
#include <cmath>
#include <fstream>

#include <cairo.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/atomic_file.h"
#include "core/error.h"
#include "render/cairo_image.h"
#include "render/png_io.h"

namespace visrl::trainer {
namespace fs = std::filesystem;

namespace {

const double kColours[][3] = {{0.12, 0.47, 0.71}, {0.84, 0.15, 0.16}, {0.17, 0.63, 0.17}, {0.58, 0.40, 0.74}};

std::string tick(double v) {
  const double a = std::abs(v);
  if (a != 0 && (a < 1e-3 || a >= 1e5)) return fmt::format("{:.2e}", v);
  return fmt::format("{:.3g}", v);
}

void text(cairo_t* cr, double x, double y, const std::string& s, double size, bool right = false) {
  cairo_set_font_size(cr, size);
  cairo_text_extents_t ext;
  cairo_text_extents(cr, s.c_str(), &ext);
  cairo_move_to(cr, right ? x - ext.x_advance : x, y);
  cairo_show_text(cr, s.c_str());
}

// One panel in the box (x0, y0, w, h).
void panel(cairo_t* cr, const CurveSeries& s, const double* colour, double x0, double y0, double w, double h) {
  const double left = x0 + 70, right = x0 + w - 20, top = y0 + 30, bottom = y0 + h - 30;
  cairo_set_source_rgb(cr, 0.1, 0.1, 0.1);
  text(cr, left, y0 + 20,
       s.points.empty() ? s.name : fmt::format("{}  (last {})", s.name, tick(s.points.back().second)), 14);
  cairo_set_line_width(cr, 1);
  cairo_rectangle(cr, left, top, right - left, bottom - top);
  cairo_stroke(cr);
  if (s.points.empty()) {
    text(cr, (left + right) / 2 - 30, (top + bottom) / 2, "no data", 13);
    return;
  }
  double xmin = s.points.front().first, xmax = s.points.back().first;
  double ymin = s.points.front().second, ymax = ymin;
  for (const auto& [x, y] : s.points) {
    ymin = std::min(ymin, y);
    ymax = std::max(ymax, y);
  }
  if (xmax == xmin) xmax = xmin + 1;
  if (ymax == ymin) {
    ymax += 0.5;
    ymin -= 0.5;
  }
  const double pad = (ymax - ymin) * 0.05;
  ymin -= pad;
  ymax += pad;
  auto px = [&](double x) { return left + (x - xmin) / (xmax - xmin) * (right - left); };
  auto py = [&](double y) { return bottom - (y - ymin) / (ymax - ymin) * (bottom - top); };
  // Grid and tick labels: 5 on each axis.
  for (int i = 0; i <= 4; ++i) {
    const double yv = ymin + (ymax - ymin) * i / 4.0, xv = xmin + (xmax - xmin) * i / 4.0;
    cairo_set_source_rgb(cr, 0.88, 0.88, 0.88);
    cairo_move_to(cr, left, py(yv));
    cairo_line_to(cr, right, py(yv));
    cairo_stroke(cr);
    cairo_set_source_rgb(cr, 0.25, 0.25, 0.25);
    // A value within 0.1% of the range from zero is zero (not -6.9e-04).
    text(cr, left - 6, py(yv) + 4, tick(std::abs(yv) < (ymax - ymin) * 1e-3 ? 0.0 : yv), 11, /*right=*/true);
    const double step = std::round(xv);  // steps are integers: the label sits at its own step
    text(cr, px(step) - 8, bottom + 16, tick(step), 11);
  }
  cairo_set_source_rgb(cr, colour[0], colour[1], colour[2]);
  cairo_set_line_width(cr, 2);
  for (size_t i = 0; i < s.points.size(); ++i) {
    const double x = px(s.points[i].first), y = py(s.points[i].second);
    if (i == 0) {
      cairo_move_to(cr, x, y);
    } else {
      cairo_line_to(cr, x, y);
    }
  }
  if (s.points.size() == 1) cairo_arc(cr, px(s.points[0].first), py(s.points[0].second), 3, 0, 2 * M_PI);
  cairo_stroke(cr);
}

}  // namespace

std::vector<CurveSeries> curves_from_metrics(const fs::path& metrics, const std::vector<std::string>& keys) {
  std::vector<CurveSeries> out;
  for (const auto& k : keys) out.push_back({k, {}});
  std::ifstream in(metrics);
  if (!in) fail(ErrorKind::io, "{}: cannot read the metrics", metrics.string());
  std::string line;
  for (int64_t number = 1; std::getline(in, line); ++number) {
    if (line.empty()) continue;
    const auto m = nlohmann::json::parse(line, nullptr, false);
    if (m.is_discarded() || !m.is_object())
      fail(ErrorKind::format, "{}:{}: not a JSON object", metrics.string(), number);
    if (!m.contains("step") || !m["step"].is_number()) continue;
    const double step = m["step"].get<double>();
    for (auto& s : out) {
      const auto it = m.find(s.name);
      if (it != m.end() && it->is_number()) s.points.emplace_back(step, it->get<double>());
    }
  }
  return out;
}

render::RgbImage draw_training_curves(const std::vector<CurveSeries>& series, int width, int height) {
  cairo_surface_t* surface = cairo_image_surface_create(CAIRO_FORMAT_RGB24, width, height);
  cairo_t* cr = cairo_create(surface);
  cairo_set_source_rgb(cr, 1, 1, 1);
  cairo_paint(cr);
  cairo_select_font_face(cr, "DejaVu Sans", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
  const double h = static_cast<double>(height) / static_cast<double>(std::max<size_t>(1, series.size()));
  for (size_t i = 0; i < series.size(); ++i) {
    panel(cr, series[i], kColours[i % 4], 0, h * static_cast<double>(i), width, h);
  }
  cairo_destroy(cr);
  auto image = render::rgb_from_surface(surface);
  cairo_surface_destroy(surface);
  return image;
}

fs::path write_training_curves(const fs::path& run_dir, const std::vector<std::string>& keys) {
  const auto path = run_dir / "training_curves.png";
  write_file_atomically(path,
                        render::encode_png(draw_training_curves(curves_from_metrics(run_dir / "metrics.jsonl", keys))));
  return path;
}

}  // namespace visrl::trainer
