// SVG drawings: shapes and words placed in the cells of a 3 x 3 layout (so that elements stay
// apart), corrupted by moving, resizing, recolouring, deleting or adding a shape and by
// changing a word.
//
// Severities: move d < 6% of the canvas -> 1, < 15% -> 2, else 3; resize |1 - s| < 0.15 -> 1,
// < 0.35 -> 2, else 3; recolour to a shade of the same colour -> 1, to another hue -> 2;
// delete / add a shape whose box covers < 3% of the canvas -> 2, else 3; one letter of a word
// changed -> 1, another word -> 2.
#include <algorithm>
#include <cmath>
#include <numbers>

#include <fmt/format.h>

#include "reward/eval/scenes.h"

namespace visrl::reward::eval {

namespace {

enum class Kind { rect, circle, ellipse, polygon, path, line, text };

struct Shape {
  Kind kind = Kind::rect;
  int slot = 0;
  double cx = 0, cy = 0, w = 0, h = 0;
  std::string fill;
  std::string stroke;
  double stroke_width = 0;
  std::vector<std::pair<double, double>> points;  // polygon / path vertices, unit offsets
  double slope = 0;                               // line: end offset factor in [-1, 1]
  std::string text;
  double font_size = 18;
  bool centred = false;
};

struct Scene {
  int size = 336;
  std::string background;  // "" = none (white)
  std::vector<Shape> shapes;
};

double round1(double v) {
  return std::round(v * 10.0) / 10.0;
}

std::string num(double v, bool alternate) {
  return alternate ? fmt::format("{:.2f}", v) : fmt::format("{:.1f}", v);
}

std::string emit_shape(const Shape& s, bool alt) {
  auto n = [&](double v) { return num(round1(v), alt); };
  std::string stroke;
  if (!s.stroke.empty() && s.kind != Kind::line && s.kind != Kind::text)
    stroke = alt ? fmt::format(" stroke-width=\"{}\" stroke=\"{}\"", n(s.stroke_width), s.stroke)
                 : fmt::format(" stroke=\"{}\" stroke-width=\"{}\"", s.stroke, n(s.stroke_width));
  switch (s.kind) {
    case Kind::rect:
      return alt ? fmt::format("<rect fill=\"{}\" width=\"{}\" height=\"{}\" x=\"{}\" y=\"{}\"{}/>", s.fill, n(s.w),
                               n(s.h), n(s.cx - s.w / 2), n(s.cy - s.h / 2), stroke)
                 : fmt::format("<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{}\"{} />", n(s.cx - s.w / 2),
                               n(s.cy - s.h / 2), n(s.w), n(s.h), s.fill, stroke);
    case Kind::circle:
      return alt ? fmt::format("<circle r=\"{}\" cy=\"{}\" cx=\"{}\" fill=\"{}\"{}/>", n(s.w / 2), n(s.cy), n(s.cx),
                               s.fill, stroke)
                 : fmt::format("<circle cx=\"{}\" cy=\"{}\" r=\"{}\" fill=\"{}\"{} />", n(s.cx), n(s.cy), n(s.w / 2),
                               s.fill, stroke);
    case Kind::ellipse:
      return fmt::format("<ellipse cx=\"{}\" cy=\"{}\" rx=\"{}\" ry=\"{}\" fill=\"{}\"{} />", n(s.cx), n(s.cy),
                         n(s.w / 2), n(s.h / 2), s.fill, stroke);
    case Kind::polygon: {
      std::vector<std::string> pts;
      for (const auto& [u, v] : s.points) pts.push_back(fmt::format("{},{}", n(s.cx + u * s.w), n(s.cy + v * s.h)));
      return fmt::format("<polygon points=\"{}\" fill=\"{}\"{} />", fmt::join(pts, alt ? "  " : " "), s.fill, stroke);
    }
    case Kind::path: {
      // Quadratic curves through the midpoints of the vertex polygon: a smooth blob.
      const size_t k = s.points.size();
      auto px = [&](size_t i) { return s.cx + s.points[i % k].first * s.w; };
      auto py = [&](size_t i) { return s.cy + s.points[i % k].second * s.h; };
      std::string d = fmt::format("M{},{}", n((px(k - 1) + px(0)) / 2), n((py(k - 1) + py(0)) / 2));
      for (size_t i = 0; i < k; ++i)
        d += alt ? fmt::format(" Q {} {} {} {}", n(px(i)), n(py(i)), n((px(i) + px(i + 1)) / 2),
                               n((py(i) + py(i + 1)) / 2))
                 : fmt::format(" Q{},{} {},{}", n(px(i)), n(py(i)), n((px(i) + px(i + 1)) / 2),
                               n((py(i) + py(i + 1)) / 2));
      return fmt::format("<path d=\"{} Z\" fill=\"{}\"{} />", d, s.fill, stroke);
    }
    case Kind::line:
      return fmt::format(
          "<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"{}\" stroke-width=\"{}\" stroke-linecap=\"round\" />",
          n(s.cx - s.w / 2), n(s.cy - s.slope * s.h / 2), n(s.cx + s.w / 2), n(s.cy + s.slope * s.h / 2), s.fill,
          n(s.stroke_width));
    case Kind::text: {
      const double x = s.centred ? s.cx : s.cx - s.w / 2;
      return fmt::format("<text x=\"{}\" y=\"{}\" font-family=\"DejaVu Sans\" font-size=\"{}\" fill=\"{}\"{}>{}</text>",
                         n(x), n(s.cy + 0.35 * s.font_size), n(s.font_size), s.fill,
                         s.centred ? " text-anchor=\"middle\"" : "", s.text);
    }
  }
  return "";
}

std::string emit(const Scene& scene, bool alternate) {
  std::string out = fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{0}\" height=\"{0}\" viewBox=\"0 0 {0} {0}\">\n", scene.size);
  if (!scene.background.empty())
    out += fmt::format("  <rect x=\"0\" y=\"0\" width=\"{0}\" height=\"{0}\" fill=\"{1}\" />\n", scene.size,
                       scene.background);
  for (const Shape& s : scene.shapes) out += (alternate ? "\t" : "  ") + emit_shape(s, alternate) + "\n";
  return out + "</svg>\n";
}

double slot_size(const Scene& scene) {
  return scene.size / 3.0;
}

// A random word for a text element: short enough to stay inside its cell.
std::string short_word(Random& random) {
  std::vector<std::string> words;
  for (const auto& w : nouns())
    if (w.size() <= 6) words.push_back(w);
  return random.pick(words);
}

void size_text(Shape& s) {
  s.w = round1(0.6 * s.font_size * static_cast<double>(s.text.size()));
  s.h = s.font_size;
}

Shape make_shape(Random& random, const Scene& scene, int slot, bool text, double scale = 1.0) {
  const double cell = slot_size(scene);
  Shape s;
  s.slot = slot;
  if (text) {
    s.kind = Kind::text;
    s.text = short_word(random);
    s.font_size = random.integer(16, 22);
    s.fill = random.pick(std::vector<std::string>{"#222222", "#333333", "#000000", "#1b1b3a"});
    s.centred = random.chance(0.5);
    size_text(s);
  } else {
    s.kind = static_cast<Kind>(random.integer(0, 5));
    s.w = round1(std::min(0.85 * cell, random.real(0.36, 0.72) * cell * scale));
    s.h = round1(std::min(0.85 * cell, random.real(0.36, 0.72) * cell * scale));
    if (s.kind == Kind::circle) s.h = s.w;
    s.fill = random.pick(mark_colours());
    if (s.kind == Kind::line) {
      s.stroke_width = random.integer(4, 7);
      s.slope = random.real(-1.0, 1.0);
    } else if (random.chance(0.3)) {
      s.stroke = random.chance(0.5) ? "#333333" : shade(s.fill, 0.5);
      s.stroke_width = random.integer(2, 3);
    }
    if (s.kind == Kind::polygon || s.kind == Kind::path) {
      const int k = random.integer(3, 6);
      const double phase = random.real(0.0, 2 * std::numbers::pi);
      for (int i = 0; i < k; ++i) {
        const double a = phase + 2 * std::numbers::pi * i / k;
        const double r = 0.5 * random.real(0.8, 1.0);
        s.points.emplace_back(round1(r * std::cos(a) * 100) / 100, round1(r * std::sin(a) * 100) / 100);
      }
    }
  }
  const double jitter_x = std::max(0.0, (cell - s.w) / 2 - 6), jitter_y = std::max(0.0, (cell - s.h) / 2 - 6);
  s.cx = round1((slot % 3 + 0.5) * cell + random.real(-jitter_x, jitter_x));
  s.cy = round1((slot / 3 + 0.5) * cell + random.real(-jitter_y, jitter_y));
  return s;
}

Scene make_scene(Random& random, int size) {
  Scene scene;
  scene.size = size;
  if (random.chance(0.25)) scene.background = random.pick(std::vector<std::string>{"#fdf6e3", "#f0f4f8", "#f5f5f5"});
  std::vector<int> slots = {0, 1, 2, 3, 4, 5, 6, 7, 8};
  random.shuffle(slots);
  const int shapes = random.integer(3, 5), texts = random.integer(1, 2);
  for (int i = 0; i < shapes + texts; ++i) scene.shapes.push_back(make_shape(random, scene, slots[i], i >= shapes));
  return scene;
}

double box_fraction(const Scene& scene, const Shape& s) {
  return s.w * s.h / (static_cast<double>(scene.size) * scene.size);
}

std::vector<int> indices(const Scene& scene, bool text) {
  std::vector<int> out;
  for (size_t i = 0; i < scene.shapes.size(); ++i)
    if ((scene.shapes[i].kind == Kind::text) == text) out.push_back(static_cast<int>(i));
  return out;
}

enum class Corruption { move, resize, recolour, remove, add, text };

// Applies one corruption to shape `target` (ignored by add); returns the injected error.
InjectedError corrupt(Random& random, Scene& scene, Corruption kind, int target, bool heavy) {
  const double size = scene.size;
  switch (kind) {
    case Corruption::move: {
      Shape& s = scene.shapes[static_cast<size_t>(target)];
      const double want = heavy ? random.real(0.13, 0.24) * size : random.real(0.025, 0.1) * size;
      const double angle = random.real(0.0, 2 * std::numbers::pi);
      const double nx = std::clamp(s.cx + want * std::cos(angle), s.w / 2 + 4, size - s.w / 2 - 4);
      const double ny = std::clamp(s.cy + want * std::sin(angle), s.h / 2 + 4, size - s.h / 2 - 4);
      const double d = std::hypot(nx - s.cx, ny - s.cy);
      s.cx = round1(nx);
      s.cy = round1(ny);
      const double f = d / size;
      return {"shape_error", f < 0.06 ? 1 : (f < 0.15 ? 2 : 3), fmt::format("a {} moved by {:.0f} px", s.fill, d)};
    }
    case Corruption::resize: {
      Shape& s = scene.shapes[static_cast<size_t>(target)];
      double change = heavy ? random.real(0.4, 0.6) : random.real(0.12, 0.3);
      const bool grow = random.chance(0.5) && s.w * (1 + change) < 0.95 * slot_size(scene);
      const double factor = grow ? 1 + change : 1 - change;
      s.w = round1(s.w * factor);
      s.h = round1(s.h * factor);
      if (s.kind == Kind::circle) s.h = s.w;
      return {"shape_error", change < 0.15 ? 1 : (change < 0.35 ? 2 : 3),
              fmt::format("a {} shape {} by {:.0f}%", s.fill, grow ? "enlarged" : "shrunk", 100 * change)};
    }
    case Corruption::recolour: {
      Shape& s = scene.shapes[static_cast<size_t>(target)];
      const std::string before = s.fill;
      const bool subtle = !heavy && random.chance(0.4);
      s.fill = subtle ? shade(before, 0.3) : distant_colour(random, before);
      return {"style_error", subtle ? 1 : 2, fmt::format("fill {} instead of {}", s.fill, before)};
    }
    case Corruption::remove: {
      const Shape s = scene.shapes[static_cast<size_t>(target)];
      scene.shapes.erase(scene.shapes.begin() + target);
      return {"structure_error", box_fraction(scene, s) < 0.03 ? 2 : 3, fmt::format("a {} shape is missing", s.fill)};
    }
    case Corruption::add: {
      std::vector<bool> used(9, false);
      for (const Shape& s : scene.shapes) used[static_cast<size_t>(s.slot)] = true;
      std::vector<int> free;
      for (int i = 0; i < 9; ++i)
        if (!used[static_cast<size_t>(i)]) free.push_back(i);
      const Shape s = make_shape(random, scene, random.pick(free), false, heavy ? 1.25 : 0.7);
      scene.shapes.push_back(s);
      return {"structure_error", box_fraction(scene, s) < 0.03 ? 2 : 3, fmt::format("an extra {} shape", s.fill)};
    }
    case Corruption::text: {
      Shape& s = scene.shapes[static_cast<size_t>(target)];
      const std::string before = s.text;
      const bool letter = !heavy && random.chance(0.5);
      s.text = letter ? typo(random, before) : other_word(random, nouns(), before);
      if (s.text.size() > 6) s.text.resize(6);
      size_text(s);
      return {"text_symbol_error", letter ? 1 : 2, fmt::format("text \"{}\" instead of \"{}\"", s.text, before)};
    }
  }
  return {};
}

// Picks a target for `kind` among shapes not yet used; -1 when there is none.
int target_for(Random& random, const Scene& scene, Corruption kind, std::vector<int>& used, bool heavy) {
  if (kind == Corruption::add) {
    return scene.shapes.size() < 9 ? 0 : -1;
  }
  std::vector<int> candidates;
  for (int i : indices(scene, kind == Corruption::text)) {
    if (std::find(used.begin(), used.end(), i) != used.end()) continue;
    // A light deletion must stay at severity 2: only small shapes.
    if (kind == Corruption::remove && !heavy && box_fraction(scene, scene.shapes[static_cast<size_t>(i)]) >= 0.03)
      continue;
    candidates.push_back(i);
  }
  if (candidates.empty()) return -1;
  const int t = random.pick(candidates);
  used.push_back(t);
  return t;
}

}  // namespace

SceneSources svg_triple(Random& random, const SyntheticOptions& options) {
  const Scene scene = make_scene(random, options.svg_size);
  SceneSources out;
  out.reference = emit(scene, false);
  out.clean = emit(scene, true);

  const std::vector<Corruption> all = {Corruption::move,   Corruption::resize, Corruption::recolour,
                                       Corruption::remove, Corruption::add,    Corruption::text};
  for (;;) {  // light: one corruption of severity 1-2
    Scene light = scene;
    std::vector<int> used;
    const Corruption kind = random.pick(all);
    const int target = target_for(random, light, kind, used, false);
    if (target < 0) continue;
    out.light_errors.push_back(corrupt(random, light, kind, target, false));
    if (out.light_errors.back().severity > 2) {
      out.light_errors.clear();
      continue;
    }
    out.light = emit(light, false);
    break;
  }
  // Heavy: three different corruptions of different shapes. Deletions go last so that the
  // targets picked before keep their indices.
  Scene heavy = scene;
  std::vector<Corruption> kinds = all;
  random.shuffle(kinds);
  std::vector<std::pair<Corruption, int>> plan;
  std::vector<int> used;
  for (Corruption kind : kinds) {
    if (plan.size() == 3) break;
    const int target = target_for(random, heavy, kind, used, true);
    if (target >= 0) plan.emplace_back(kind, target);
  }
  std::stable_sort(plan.begin(), plan.end(), [](const auto& a, const auto& b) {
    return (a.first == Corruption::remove) < (b.first == Corruption::remove);
  });
  for (const auto& [kind, target] : plan) out.heavy_errors.push_back(corrupt(random, heavy, kind, target, true));
  out.heavy = emit(heavy, false);
  return out;
}

}  // namespace visrl::reward::eval
