// Synthetic SVG drawings: a random specification (background, shapes: rect, circle, ellipse,
// line, polygon, path; fills, strokes, opacity; text labels) and its SVG markup.
#pragma once

#include <string>
#include <vector>

#include "trainer/datagen/vocabulary.h"

namespace visrl::trainer::datagen {

enum class SvgShapeKind { rect, circle, ellipse, line, polygon, path, text };
const char* to_string(SvgShapeKind kind);

struct SvgShape {
  SvgShapeKind kind = SvgShapeKind::rect;
  // rect: x y w h rx; circle: cx cy r; ellipse: cx cy rx ry; line: x1 y1 x2 y2;
  // polygon: x0 y0 x1 y1 ...; path: x0 y0 then quadratic segments (cx cy x y)...; text: x y size
  std::vector<double> geometry;
  std::string fill = "none", stroke = "none";
  double stroke_width = 0;
  double opacity = 1;
  std::string text;  // text only
};

struct SvgSpec {
  int size = 200;  // viewBox 0 0 size size
  std::string background = "#ffffff";
  std::vector<SvgShape> shapes;  // painted in order
};

SvgSpec random_svg(Random& rng);
std::string svg_code(const SvgSpec& spec);

}  // namespace visrl::trainer::datagen
