#include "trainer/datagen/svg_gen.h"

#include <cmath>

#include <fmt/format.h>

namespace visrl::trainer::datagen {
namespace {

std::string num(double v) {
  return format_number(v, 0);
}

std::string paint(const SvgShape& s) {
  std::string out = fmt::format(" fill=\"{}\"", s.fill);
  if (s.stroke != "none") out += fmt::format(" stroke=\"{}\" stroke-width=\"{}\"", s.stroke, num(s.stroke_width));
  if (s.opacity < 1) out += fmt::format(" opacity=\"{:.1f}\"", s.opacity);
  return out;
}

std::string element(const SvgShape& s) {
  const auto& g = s.geometry;
  switch (s.kind) {
    case SvgShapeKind::rect:
      return fmt::format("<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\"{}{}/>", num(g[0]), num(g[1]), num(g[2]),
                         num(g[3]), g[4] > 0 ? fmt::format(" rx=\"{}\"", num(g[4])) : "", paint(s));
    case SvgShapeKind::circle:
      return fmt::format("<circle cx=\"{}\" cy=\"{}\" r=\"{}\"{}/>", num(g[0]), num(g[1]), num(g[2]), paint(s));
    case SvgShapeKind::ellipse:
      return fmt::format("<ellipse cx=\"{}\" cy=\"{}\" rx=\"{}\" ry=\"{}\"{}/>", num(g[0]), num(g[1]), num(g[2]),
                         num(g[3]), paint(s));
    case SvgShapeKind::line:
      return fmt::format("<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\"{}/>", num(g[0]), num(g[1]), num(g[2]),
                         num(g[3]), paint(s));
    case SvgShapeKind::polygon: {
      std::string points;
      for (size_t i = 0; i + 1 < g.size(); i += 2)
        points += fmt::format("{}{},{}", i ? " " : "", num(g[i]), num(g[i + 1]));
      return fmt::format("<polygon points=\"{}\"{}/>", points, paint(s));
    }
    case SvgShapeKind::path: {
      auto d = fmt::format("M {} {}", num(g[0]), num(g[1]));
      for (size_t i = 2; i + 3 < g.size(); i += 4) {
        d += fmt::format(" Q {} {} {} {}", num(g[i]), num(g[i + 1]), num(g[i + 2]), num(g[i + 3]));
      }
      return fmt::format("<path d=\"{}\"{}/>", d, paint(s));
    }
    case SvgShapeKind::text:
      return fmt::format("<text x=\"{}\" y=\"{}\" font-family=\"DejaVu Sans\" font-size=\"{}\" fill=\"{}\">{}</text>",
                         num(g[0]), num(g[1]), num(g[2]), s.fill, xml_escape(s.text));
  }
  return {};
}

}  // namespace

const char* to_string(SvgShapeKind kind) {
  switch (kind) {
    case SvgShapeKind::rect:
      return "rect";
    case SvgShapeKind::circle:
      return "circle";
    case SvgShapeKind::ellipse:
      return "ellipse";
    case SvgShapeKind::line:
      return "line";
    case SvgShapeKind::polygon:
      return "polygon";
    case SvgShapeKind::path:
      return "path";
    case SvgShapeKind::text:
      return "text";
  }
  return "rect";
}

SvgSpec random_svg(Random& rng) {
  SvgSpec s;
  s.background = rng.chance(0.7) ? "#ffffff" : rng.pick(std::vector<std::string>{"#f4f1de", "#eef4fb", "#f2f2f2"});
  const double size = s.size;
  auto coord = [&](double margin) { return rng.real(margin, size - margin); };
  const auto n = rng.integer(2, 6);
  for (int64_t i = 0; i < n; ++i) {
    SvgShape shape;
    shape.kind = static_cast<SvgShapeKind>(rng.integer(0, 5));
    const bool filled = shape.kind != SvgShapeKind::line && (shape.kind != SvgShapeKind::path || rng.chance(0.5));
    if (filled) shape.fill = random_colour(rng);
    if (!filled || rng.chance(0.4)) {
      shape.stroke = random_colour(rng);
      shape.stroke_width = static_cast<double>(rng.integer(2, 6));
    }
    if (rng.chance(0.2)) shape.opacity = 0.6;
    switch (shape.kind) {
      case SvgShapeKind::rect: {
        const double w = rng.real(30, 110), h = rng.real(30, 110);
        shape.geometry = {rng.real(5, size - w - 5), rng.real(5, size - h - 5), w, h,
                          rng.chance(0.3) ? rng.real(4, 15) : 0.0};
        break;
      }
      case SvgShapeKind::circle: {
        const double r = rng.real(12, 45);
        shape.geometry = {coord(r + 2), coord(r + 2), r};
        break;
      }
      case SvgShapeKind::ellipse: {
        const double rx = rng.real(15, 60), ry = rng.real(10, 40);
        shape.geometry = {rng.real(rx + 2, size - rx - 2), rng.real(ry + 2, size - ry - 2), rx, ry};
        break;
      }
      case SvgShapeKind::line:
        shape.geometry = {coord(10), coord(10), coord(10), coord(10)};
        break;
      case SvgShapeKind::polygon: {
        const auto corners = rng.integer(3, 6);
        const double cx = coord(50), cy = coord(50), r = rng.real(20, 45);
        for (int64_t k = 0; k < corners; ++k) {
          const double a = 2 * M_PI * static_cast<double>(k) / static_cast<double>(corners);
          shape.geometry.push_back(cx + r * std::cos(a));
          shape.geometry.push_back(cy + r * std::sin(a));
        }
        break;
      }
      case SvgShapeKind::path:
        shape.geometry = {coord(10), coord(10)};
        for (int64_t k = rng.integer(1, 3); k > 0; --k) {
          for (int j = 0; j < 4; ++j) shape.geometry.push_back(coord(10));
        }
        break;
      case SvgShapeKind::text:
        break;
    }
    s.shapes.push_back(std::move(shape));
  }
  if (rng.chance(0.5)) {  // a label on top
    SvgShape label;
    label.kind = SvgShapeKind::text;
    label.text = random_word(rng);
    label.fill = rng.pick(std::vector<std::string>{"#000000", "#333333", random_colour(rng)});
    label.geometry = {rng.real(8, 80), rng.real(25, size - 10), static_cast<double>(rng.integer(14, 24))};
    s.shapes.push_back(std::move(label));
  }
  return s;
}

std::string svg_code(const SvgSpec& s) {
  std::string out = fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{0}\" height=\"{0}\" viewBox=\"0 0 {0} {0}\">\n", s.size);
  out += fmt::format("  <rect width=\"{}\" height=\"{}\" fill=\"{}\"/>\n", s.size, s.size, s.background);
  for (const auto& shape : s.shapes) out += "  " + element(shape) + "\n";
  return out + "</svg>\n";
}

}  // namespace visrl::trainer::datagen
