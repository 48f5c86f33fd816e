#include "reward/pixel/scene_compare.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <set>

#include <fmt/format.h>

#include "reward/pixel/chart_marks.h"
#include "reward/pixel/findings.h"
#include "reward/pixel/glyphs.h"
#include "reward/pixel/image_analysis.h"

namespace visrl::reward::pixel {

namespace {

constexpr int kInkContrast = 48;   // glyph pixels this far from the page are ink
constexpr int kMarkChroma = 60;    // chart colours at least this saturated are data marks
constexpr double kPairArea = 1.5;  // a moved element keeps its area within this factor
constexpr double kNoiseDisplacement = 1.5;

// Differing pixels that lie close together: one discrepancy.
struct Blob {
  Box box;
  int64_t n = 0, changed = 0, glyph = 0;
  std::map<std::pair<int32_t, int32_t>, int64_t> recolours;  // (reference, render) palette index
  std::map<int32_t, int64_t> recoloured_a, recoloured_b;     // elements holding recoloured pixels
  std::map<int32_t, int64_t> missing_colours, extra_colours;
  std::set<int32_t> elements_a, elements_b, glyphs_a, glyphs_b;
  std::vector<int> pixels;
};

// How much of an element of one image is still there, at the same place and in the same
// colour, in the other image, and which element of the other image holds most of it.
struct Survival {
  double kept = 0;
  int32_t other = -1;
  int64_t overlap = 0;
  bool lost = false;
};

// A vanished (reference side) or added (render side) element, for pairing into moves.
struct Item {
  bool reference_side = true;
  Colour colour;
  int64_t area = 0;
  Box box;
  size_t blob = 0;
  bool paired = false;
};

double centre_distance(const Box& a, const Box& b) {
  const double dx = (a.x0 + a.x1 - b.x0 - b.x1) / 2.0, dy = (a.y0 + a.y1 - b.y0 - b.y1) / 2.0;
  return std::sqrt(dx * dx + dy * dy);
}

// Severity of a finding that stands for n like changes (small marks, short labels): 1 for up
// to 2, 2 for up to 5, 3 beyond.
int severity_by_count(int n) {
  return n <= 2 ? 1 : (n <= 5 ? 2 : 3);
}

std::string box_size(const Box& b) {
  return fmt::format("{}x{} px", b.width(), b.height());
}

class SceneComparison {
 public:
  SceneComparison(Task task, const render::RgbImage& reference, const render::RgbImage& rendered,
                  const PixelCriticOptions& options)
      : task_(task), ref_(reference), ren_(rendered), options_(options) {}

  std::vector<CriticError> run();

 private:
  void report_background();
  void report_shift();
  void register_pixel();
  void report_kind();
  void report_coverage();
  void report_count();
  std::vector<Blob> collect_blobs(const Mask& diff) const;
  // Glyph pieces joined into lines of text: on one baseline and at most a glyph height apart.
  std::vector<Blob> join_lines(std::vector<Blob> pieces) const;
  Survival survival(bool reference_side, int32_t element);
  void report_text(const std::vector<const Blob*>& blobs);
  void report_styles(const std::vector<const Blob*>& blobs);
  void report_geometry(const std::vector<Blob>& blobs, const std::vector<size_t>& geometric);
  double displacement(const Blob& blob) const;
  bool absorbed(Colour c) const;
  // Grey ink (and its darkness) of `image` inside `region`.
  Mask ink(const ImageAnalysis& a, const render::RgbImage& image, const Box& region,
           std::vector<uint8_t>& levels) const;

  const ImageAnalysis& side(bool reference_side) const { return reference_side ? a_ : b_; }
  double diagonal() const { return std::hypot(ref_.width, ref_.height); }
  std::string where(const Box& box) const { return region_name(box, ref_.width, ref_.height); }
  void add(Finding finding, int severity, const Box& box, std::string description) {
    errors_.push_back(make_error(task_, finding, severity, where(box), std::move(description)));
  }

  Task task_;
  const render::RgbImage& ref_;
  render::RgbImage ren_;
  const PixelCriticOptions& options_;
  ImageAnalysis a_, b_;
  std::vector<CriticError> errors_;
  std::vector<Colour> absorbed_;                     // chart mark colours reported as a coverage change
  std::vector<std::pair<Colour, Box>> new_colours_;  // chart mark colours absent from the reference
  std::vector<Box> vanished_;                        // boxes of vanished structure (legend, axes)
  std::vector<Blob> absorbed_glyphs_;                // glyphs of blobs a coverage finding took, one each
  bool no_marks_ = false;                            // the reference has chart marks, the render none
  bool kinds_differ_ = false;                        // the chart draws other kinds of marks, or none
  bool other_kind_ = false;                          // ... and draws some
  size_t solid_a_ = 0, solid_b_ = 0;                 // bars and wedges of each image
  size_t series_a_ = 0, series_b_ = 0;               // line and point series (colours) of each image
  Box solid_box_;                                    // ... and where they are
  std::vector<Blob> loose_glyphs_;                   // glyphs of the other geometric blobs, one each
  std::map<std::pair<bool, int32_t>, Survival> survivals_;
};

std::vector<CriticError> SceneComparison::run() {
  a_ = analyse_image(ref_, options_);
  b_ = analyse_image(ren_, options_);
  report_background();
  report_shift();
  register_pixel();
  const Mask diff = difference_mask(ref_, a_.foreground, ren_, b_.foreground, options_);
  if (diff.count() == 0) return errors_;
  describe_elements(ref_, options_, a_);
  describe_elements(ren_, options_, b_);
  if (task_ == Task::chart) {
    report_kind();
    report_coverage();
    report_count();
  }

  // Recoloured pixels (foreground in both, other colour) and the rest form separate blobs, so
  // that a recoloured series and a missing axis next to it stay two findings.
  Mask recoloured(diff.width, diff.height), presence(diff.width, diff.height);
  for (size_t i = 0; i < diff.bits.size(); ++i) {
    if (!diff.bits[i]) continue;
    const int32_t ca = a_.colour_index[i], cb = b_.colour_index[i];
    // Thin dark text has no flat pixels of its true colour after a sub-pixel move and may be
    // explained by another dark grey: text needs twice the colour difference.
    const bool text = ca >= 0 && cb >= 0 && a_.glyph_like[a_.elements.label[i]] && b_.glyph_like[b_.elements.label[i]];
    const bool recolour = ca >= 0 && cb >= 0 &&
                          colour_distance(a_.palette[ca], b_.palette[cb]) > options_.colour_tolerance * (text ? 2 : 1);
    (recolour ? recoloured : presence).bits[i] = 1;
  }
  // The antialiased rim of a recoloured element is part of the recolouring.
  const Mask rim = dilate(recoloured, 1);
  for (size_t i = 0; i < presence.bits.size(); ++i)
    if (rim.bits[i]) presence.bits[i] = 0;
  const std::vector<Blob> style_blobs = collect_blobs(recoloured);
  const std::vector<Blob> blobs = collect_blobs(presence);
  std::vector<const Blob*> text, style;
  std::vector<size_t> geometric;
  for (const Blob& blob : style_blobs) style.push_back(&blob);
  for (size_t i = 0; i < blobs.size(); ++i) {
    if (blobs[i].glyph >= options_.text_share * blobs[i].n)
      text.push_back(&blobs[i]);
    else
      geometric.push_back(i);
  }
  report_geometry(blobs, geometric);
  // The text inside blobs a coverage finding took, and inside other mostly geometric blobs, is
  // compared too when the render lost most of the reference's text or draws none of its marks:
  // a chart reduced to empty axes has lost its title, labels and legend, not only its marks
  // (and with the axes frame moved by tight_layout, one blob holds the frame, the marks and
  // every label), or draws another kind of chart (the labels next to its lines are not part of
  // the kind finding). Otherwise a removed series takes its legend entry along, and labels next
  // to a changed mark stay part of that finding.
  const auto glyphs = [](const ImageAnalysis& an) { return std::count(an.glyph_like.begin(), an.glyph_like.end(), 1); };
  if (2 * glyphs(b_) < glyphs(a_) || no_marks_ || other_kind_) {
    absorbed_glyphs_.insert(absorbed_glyphs_.end(), loose_glyphs_.begin(), loose_glyphs_.end());
    absorbed_glyphs_ = join_lines(std::move(absorbed_glyphs_));
    for (const Blob& piece : absorbed_glyphs_) text.push_back(&piece);
  }
  report_text(text);
  report_styles(style);
  return errors_;
}

void SceneComparison::report_background() {
  const int d = colour_distance(a_.background, b_.background);
  if (d <= options_.colour_tolerance) return;
  add(Finding::background, d >= options_.colour_severity ? 2 : 1, Box{0, 0, ref_.width - 1, ref_.height - 1},
      fmt::format("background {} vs {} in the reference", hex(b_.background), hex(a_.background)));
}

void SceneComparison::report_shift() {
  const Box box_a = a_.foreground.box(), box_b = b_.foreground.box();
  if (box_a.empty() || box_b.empty()) return;
  const int w = ref_.width, h = ref_.height;
  const int tolerance = std::max(2, std::min(w, h) / 100);
  if (std::abs(box_a.width() - box_b.width()) > tolerance || std::abs(box_a.height() - box_b.height()) > tolerance)
    return;
  const int dx = (box_b.x0 + box_b.x1 - box_a.x0 - box_a.x1) / 2;
  const int dy = (box_b.y0 + box_b.y1 - box_a.y0 - box_a.y1) / 2;
  const double shift = std::max(std::abs(dx) / static_cast<double>(w), std::abs(dy) / static_cast<double>(h));
  if (shift < options_.min_shift) return;
  int64_t before = 0, after = 0;
  for (int y = 0; y < h; ++y) {
    for (int x = 0; x < w; ++x) {
      const bool fa = a_.foreground.at(x, y);
      before += fa != static_cast<bool>(b_.foreground.at(x, y));
      const int sx = x + dx, sy = y + dy;
      const bool fb = sx >= 0 && sy >= 0 && sx < w && sy < h && b_.foreground.at(sx, sy);
      after += fa != fb;
    }
  }
  if (after > (1.0 - options_.shift_gain) * before) return;
  std::vector<std::string> parts;
  if (dx != 0) parts.push_back(fmt::format("{} px {}", std::abs(dx), dx > 0 ? "right" : "left"));
  if (dy != 0) parts.push_back(fmt::format("{} px {}", std::abs(dy), dy > 0 ? "down" : "up"));
  add(Finding::shift, severity_of(shift, options_.shift_severity[0], options_.shift_severity[1]), box_a,
      fmt::format("content shifted {} ({} of the image side)", fmt::join(parts, " and "), percent(shift)));
  ren_ = translate_image(ren_, -dx, -dy, b_.background);
  b_ = analyse_image(ren_, options_);
}

void SceneComparison::register_pixel() {
  // A drawing placed up to a pixel elsewhere (another renderer, rounding) is not an error:
  // move the render by the one-pixel offset that best removes the foreground disagreement.
  const int w = ref_.width, h = ref_.height;
  auto disagreement = [&](int dx, int dy) {
    int64_t n = 0;
    for (int y = 1; y + 1 < h; ++y) {
      const uint8_t* fa = &a_.foreground.bits[static_cast<size_t>(y) * w];
      const uint8_t* fb = &b_.foreground.bits[static_cast<size_t>(y + dy) * w + dx];
      for (int x = 1; x + 1 < w; ++x) n += fa[x] != fb[x];
    }
    return n;
  };
  if (w < 3 || h < 3) return;
  const int64_t here = disagreement(0, 0);
  int64_t best = here;
  int best_dx = 0, best_dy = 0;
  for (int dy = -1; dy <= 1; ++dy)
    for (int dx = -1; dx <= 1; ++dx) {
      if (dx == 0 && dy == 0) continue;
      const int64_t n = disagreement(dx, dy);
      if (n < best) best = n, best_dx = dx, best_dy = dy;
    }
  if ((best_dx == 0 && best_dy == 0) || best > 0.7 * here) return;
  ren_ = translate_image(ren_, -best_dx, -best_dy, b_.background);
  b_ = analyse_image(ren_, options_);
}

void SceneComparison::report_coverage() {
  const int w = ref_.width, h = ref_.height;
  const double area = static_cast<double>(w) * h;
  const size_t na = a_.palette.size(), nb = b_.palette.size();
  // Reference colours and the render colours close to them; render colours close to none.
  std::vector<std::vector<size_t>> close_to(nb);
  std::vector<bool> unmatched(nb, true);
  for (size_t j = 0; j < nb; ++j)
    for (size_t k = 0; k < na; ++k)
      if (colour_distance(a_.palette[k], b_.palette[j]) <= options_.colour_tolerance) {
        close_to[j].push_back(k);
        unmatched[j] = false;
      }
  std::vector<int64_t> area_a(na, 0), area_b(na, 0), lost(na, 0), gained(na, 0);
  std::vector<int64_t> new_area(nb, 0);
  std::vector<Box> where_a(na), where_new(nb);
  for (int y = 0; y < h; ++y) {
    for (int x = 0; x < w; ++x) {
      const size_t i = static_cast<size_t>(y) * w + x;
      const int32_t ia = a_.colour_index[i], ib = b_.colour_index[i];
      if (ia >= 0) {
        ++area_a[ia];
        if (ib < 0) {
          ++lost[ia];
          where_a[ia].add(x, y);
        }
      }
      if (ib >= 0) {
        for (size_t k : close_to[ib]) {
          ++area_b[k];
          if (ia < 0) {
            ++gained[k];
            where_a[k].add(x, y);
          }
        }
        if (unmatched[ib] && ia < 0) {
          ++new_area[ib];
          where_new[ib].add(x, y);
        }
      }
    }
  }
  int reference_marks = 0, marks_kept = 0;
  for (size_t k = 0; k < na; ++k) {
    if (chroma(a_.palette[k]) < kMarkChroma) continue;
    ++reference_marks;
    marks_kept += area_b[k] * 5 >= area_a[k];  // the render keeps a fifth of its area
    const double changed = static_cast<double>(lost[k] + gained[k]);
    const double hi = static_cast<double>(std::max(area_a[k], area_b[k]));
    const double lo = static_cast<double>(std::min(area_a[k], area_b[k]));
    if (changed < options_.coverage_min_area * area || hi < options_.coverage_ratio * std::max(lo, 1.0)) continue;
    // A colour drawn as another kind of mark is part of the kind finding; one that is gone is
    // a series missing.
    if (!other_kind_ || area_b[k] < options_.solid_mark_area * area)
      add(Finding::coverage, lo < 0.2 * hi ? 3 : 2, where_a[k],
          fmt::format("marks of colour {} cover {} vs {} in the reference", hex(a_.palette[k]),
                      percent(area_b[k] / area), percent(area_a[k] / area)));
    absorbed_.push_back(a_.palette[k]);
  }
  for (size_t j = 0; j < nb; ++j) {
    if (!unmatched[j] || chroma(b_.palette[j]) < kMarkChroma) continue;
    if (new_area[j] < options_.coverage_min_area * area) continue;
    const double fraction = new_area[j] / area;
    add(Finding::coverage, fraction >= 0.03 ? 3 : 2, where_new[j],
        fmt::format("marks of colour {} cover {} and are absent from the reference", hex(b_.palette[j]),
                    percent(fraction)));
    new_colours_.emplace_back(b_.palette[j], where_new[j]);
    absorbed_.push_back(b_.palette[j]);
  }
  no_marks_ = reference_marks > 0 && marks_kept == 0 && new_colours_.empty();
}

// Another kind of chart (lines for points, bars for lines) is one severe structure error, and
// when the render draws marks of the other kind, one severe data error too: none of its values
// is drawn as the reference draws them. The mark colours the render still draws, in another
// kind, are not reported again (report_coverage), but the text next to them is (run()). Before,
// the kind finding alone stood for those colours and hid their marks and labels, so a scatter
// plot answered with lines cost less than one with its points elsewhere, and GRPO taught lines.
void SceneComparison::report_kind() {
  const ChartMarks a = read_chart_marks(a_, ref_.width, ref_.height, options_),
                   b = read_chart_marks(b_, ren_.width, ren_.height, options_);
  solid_a_ = a.solid;
  solid_b_ = b.solid;
  series_a_ = a.series;
  series_b_ = b.series;
  solid_box_ = a.solid_box;
  solid_box_.add(b.solid_box);
  // Drawing no marks at all is reported too, but does not stand for the colours: each series
  // is then missing (coverage).
  kinds_differ_ = a.kinds != 0 && a.kinds != b.kinds;
  other_kind_ = kinds_differ_ && b.kinds != 0;
  if (kinds_differ_)
    add(Finding::kind, 3, Box{0, 0, ref_.width - 1, ref_.height - 1},
        fmt::format("the chart draws {} where the reference draws {}", describe_mark_kinds(b.kinds),
                    describe_mark_kinds(a.kinds)));
  if (other_kind_)
    add(Finding::values, 3, Box{0, 0, ref_.width - 1, ref_.height - 1},
        fmt::format("none of the values is drawn as {}", describe_mark_kinds(a.kinds)));
}

// Another number of bars or wedges is a data error of its own: the policy did not count them,
// whatever the heights (which are extents) or colours (styles). One more or fewer is medium,
// more is severe.
void SceneComparison::report_count() {
  // Bars drawn as a line have no bars: the kind finding says it.
  if (kinds_differ_) return;
  const auto severity = [](size_t x, size_t y) { return (x > y ? x - y : y - x) == 1 ? 2 : 3; };
  if (solid_a_ != solid_b_)
    add(Finding::count, severity(solid_a_, solid_b_), solid_box_,
        fmt::format("{} bars or wedges vs {} in the reference", solid_b_, solid_a_));
  // Lines and point sets are counted by colour: with the colours wrong, each missing series and
  // each new one is a coverage finding, so fewer series cost less than the right number.
  if (series_a_ != series_b_ && series_a_ > 0 && series_b_ > 0)
    add(Finding::count, severity(series_a_, series_b_), Box{0, 0, ref_.width - 1, ref_.height - 1},
        fmt::format("{} line or point series vs {} in the reference", series_b_, series_a_));
}

bool SceneComparison::absorbed(Colour c) const {
  for (const Colour& a : absorbed_)
    if (colour_distance(a, c) <= options_.colour_tolerance) return true;
  return false;
}

std::vector<Blob> SceneComparison::collect_blobs(const Mask& diff) const {
  const int w = ref_.width;
  const int radius = std::max(2, static_cast<int>(std::lround(options_.group_radius * diagonal())));
  const Components groups = label_components(dilate(diff, radius));
  std::vector<Blob> blobs(groups.items.size());
  for (size_t i = 0; i < diff.bits.size(); ++i) {
    if (!diff.bits[i]) continue;
    const int x = static_cast<int>(i % w), y = static_cast<int>(i / w);
    Blob& blob = blobs[static_cast<size_t>(groups.label[i])];
    blob.box.add(x, y);
    blob.pixels.push_back(static_cast<int>(i));
    ++blob.n;
    const int32_t ca = a_.colour_index[i], cb = b_.colour_index[i];
    const int32_t ea = a_.elements.label[i], eb = b_.elements.label[i];
    const bool glyph_a = ea >= 0 && a_.glyph_like[ea], glyph_b = eb >= 0 && b_.glyph_like[eb];
    if (glyph_a || glyph_b) ++blob.glyph;
    if (glyph_a) blob.glyphs_a.insert(ea);
    if (glyph_b) blob.glyphs_b.insert(eb);
    if (ca >= 0 && cb >= 0 && colour_distance(a_.palette[ca], b_.palette[cb]) > options_.colour_tolerance) {
      ++blob.changed;
      ++blob.recolours[{ca, cb}];
      ++blob.recoloured_a[ea];
      ++blob.recoloured_b[eb];
      continue;
    }
    if (ea >= 0 && !glyph_a) {
      blob.elements_a.insert(ea);
      if (cb < 0) ++blob.missing_colours[ca];
    }
    if (eb >= 0 && !glyph_b) {
      blob.elements_b.insert(eb);
      if (ca < 0) ++blob.extra_colours[cb];
    }
  }
  blobs.erase(std::remove_if(blobs.begin(), blobs.end(), [](const Blob& b) { return b.n == 0; }), blobs.end());
  return blobs;
}

std::vector<Blob> SceneComparison::join_lines(std::vector<Blob> pieces) const {
  auto box_of = [&](const Blob& p) {
    Box b;
    for (int32_t e : p.glyphs_a) b.add(a_.elements.items[static_cast<size_t>(e)].box);
    for (int32_t e : p.glyphs_b) b.add(b_.elements.items[static_cast<size_t>(e)].box);
    return b;
  };
  auto same_line = [](const Box& p, const Box& q) {
    const int h = std::min(p.height(), q.height()), hmax = std::max(p.height(), q.height());
    const int y_overlap = std::min(p.y1, q.y1) - std::max(p.y0, q.y0) + 1;
    const int x_gap = std::max(p.x0, q.x0) - std::min(p.x1, q.x1);
    return 2 * y_overlap >= h && x_gap <= hmax;
  };
  std::vector<Box> boxes;
  for (const Blob& p : pieces) boxes.push_back(box_of(p));
  for (bool merged = true; merged;) {
    merged = false;
    for (size_t i = 0; i < pieces.size() && !merged; ++i)
      for (size_t j = i + 1; j < pieces.size() && !merged; ++j) {
        if (!same_line(boxes[i], boxes[j])) continue;
        pieces[i].glyphs_a.insert(pieces[j].glyphs_a.begin(), pieces[j].glyphs_a.end());
        pieces[i].glyphs_b.insert(pieces[j].glyphs_b.begin(), pieces[j].glyphs_b.end());
        boxes[i].add(boxes[j]);
        pieces.erase(pieces.begin() + static_cast<std::ptrdiff_t>(j));
        boxes.erase(boxes.begin() + static_cast<std::ptrdiff_t>(j));
        merged = true;
      }
  }
  return pieces;
}

Survival SceneComparison::survival(bool reference_side, int32_t element) {
  const auto key = std::make_pair(reference_side, element);
  if (auto it = survivals_.find(key); it != survivals_.end()) return it->second;
  const ImageAnalysis& own = side(reference_side);
  const ImageAnalysis& other = side(!reference_side);
  const Component& comp = own.elements.items[static_cast<size_t>(element)];
  const Colour colour = own.palette[static_cast<size_t>(comp.cls)];
  std::map<int32_t, int64_t> hits;
  int64_t kept = 0, covered = 0;
  for (int y = comp.box.y0; y <= comp.box.y1; ++y) {
    for (int x = comp.box.x0; x <= comp.box.x1; ++x) {
      if (own.elements.at(x, y) != element || !other.foreground.at(x, y)) continue;
      ++covered;
      if (colour_distance(other.colour_at(x, y), colour) > options_.colour_tolerance) continue;
      ++kept;
      ++hits[other.elements.at(x, y)];
    }
  }
  Survival s;
  s.kept = static_cast<double>(kept) / static_cast<double>(comp.area);
  for (const auto& [id, count] : hits)
    if (count > s.overlap) {
      s.other = id;
      s.overlap = count;
    }
  // A shrunken or grown element is inside its counterpart, a recoloured or covered one is
  // still foreground: neither is lost.
  s.lost = s.kept < options_.survival && covered * 2 < comp.area &&
           (s.other < 0 || s.overlap * 2 < other.elements.items[static_cast<size_t>(s.other)].area);
  survivals_[key] = s;
  return s;
}

Mask SceneComparison::ink(const ImageAnalysis& a, const render::RgbImage& image, const Box& region,
                          std::vector<uint8_t>& levels) const {
  // Every grey pixel, not only those of glyph-like elements: the faint edge of a glyph may be
  // explained by another palette colour in one image and not in the other.
  Mask m(image.width, image.height);
  levels.assign(m.bits.size(), 0);
  for (int y = std::max(0, region.y0); y <= std::min(image.height - 1, region.y1); ++y)
    for (int x = std::max(0, region.x0); x <= std::min(image.width - 1, region.x1); ++x) {
      const Colour c = pixel_at(image, x, y);
      if (chroma(c) > options_.glyph_max_chroma) continue;
      const int level = colour_distance(c, a.background);
      levels[static_cast<size_t>(y) * image.width + x] = static_cast<uint8_t>(level);
      m.at(x, y) = level > kInkContrast;
    }
  return m;
}

void SceneComparison::report_text(const std::vector<const Blob*>& blobs) {
  if (blobs.empty()) return;
  // One window per stretch of text: the glyph elements the blob touches, merged while they
  // overlap, grown to every glyph element they cut.
  std::vector<Box> windows;
  for (const Blob* blob : blobs) {
    Box w;
    for (int32_t e : blob->glyphs_a) w.add(a_.elements.items[e].box);
    for (int32_t e : blob->glyphs_b) w.add(b_.elements.items[e].box);
    windows.push_back(w);
  }
  auto intersects = [](const Box& p, const Box& q) {
    return !p.empty() && !q.empty() && p.x0 <= q.x1 && q.x0 <= p.x1 && p.y0 <= q.y1 && q.y0 <= p.y1;
  };
  for (Box& w : windows) {
    for (const ImageAnalysis* an : {&a_, &b_})
      for (size_t e = 0; e < an->elements.items.size(); ++e)
        if (an->glyph_like[e] && intersects(w, an->elements.items[e].box)) w.add(an->elements.items[e].box);
  }
  // Text on one line (tick labels along an axis) or in one column (stacked labels) is one
  // finding, however many places changed. A window is never large in both directions: the box
  // of a tick column joined to the tick row through the corner label would cover the whole
  // plot, title and all.
  auto too_large = [&](const Box& p, const Box& q) {
    Box joint = p;
    joint.add(q);
    return 4 * joint.width() > ref_.width && 4 * joint.height() > ref_.height;
  };
  auto related = [&](const Box& p, const Box& q) {
    if (intersects(p, q)) return true;
    const int h = std::min(p.height(), q.height()), w = std::min(p.width(), q.width());
    const int y_overlap = std::min(p.y1, q.y1) - std::max(p.y0, q.y0) + 1;
    const int x_overlap = std::min(p.x1, q.x1) - std::max(p.x0, q.x0) + 1;
    const int y_gap = std::max(p.y0, q.y0) - std::min(p.y1, q.y1);
    const bool similar = std::max(p.height(), q.height()) * 2 <= 3 * h;
    return (similar && 2 * y_overlap >= h) || (2 * x_overlap >= w && y_gap <= 6 * std::max(p.height(), q.height()));
  };
  for (bool merged = true; merged;) {
    merged = false;
    for (size_t i = 0; i < windows.size() && !merged; ++i)
      for (size_t j = i + 1; j < windows.size() && !merged; ++j)
        if (related(windows[i], windows[j]) && !too_large(windows[i], windows[j])) {
          windows[i].add(windows[j]);
          windows.erase(windows.begin() + static_cast<std::ptrdiff_t>(j));
          merged = true;
        }
  }
  std::vector<uint8_t> levels_a, levels_b;
  Box region;
  for (const Box& w : windows) region.add(w);
  const int around = 4 * a_.glyph_max_px;
  region = Box{region.x0 - around, region.y0 - around, region.x1 + around, region.y1 + around};
  const Mask ink_a = ink(a_, ref_, region, levels_a), ink_b = ink(b_, ren_, region, levels_b);
  const Components pieces_a = label_components(ink_a), pieces_b = label_components(ink_b);
  // In a chart, short labels that differ by a glyph or two (tick labels of another axis range)
  // are one finding, by how many: one per tick label made an answer with the reference's axes
  // but other values cost more than one with another kind of axis.
  int short_labels = 0;
  Box short_box;
  for (Box& w : windows) {
    // Grow the window until no glyph-sized ink piece of either image straddles its border: a
    // glyph just inside the window in one image must not be just outside in the other.
    for (bool grown = true; grown;) {
      grown = false;
      for (const Components* pieces : {&pieces_a, &pieces_b})
        for (const Component& p : pieces->items) {
          if (p.box.height() > 2 * a_.glyph_max_px || p.box.width() > 4 * a_.glyph_max_px || !intersects(p.box, w))
            continue;
          if (p.box.x0 < w.x0 || p.box.x1 > w.x1 || p.box.y0 < w.y0 || p.box.y1 > w.y1) {
            w.add(p.box);
            grown = true;
          }
        }
    }
    const std::vector<Glyph> ga = glyph_sequence(ink_a, levels_a, w), gb = glyph_sequence(ink_b, levels_b, w);
    int edits = glyph_edit_distance(ga, gb);
    // Letters that touch in one rendering and not in the other can split differently; the
    // whole block drawn a fraction of a pixel elsewhere is still the same text.
    if (edits > 0 && !ga.empty() && !gb.empty() &&
        glyph_mismatch(block_glyph(ink_a, levels_a, w), block_glyph(ink_b, levels_b, w)) == 0)
      edits = 0;
    if (edits == 0) {
      Box before, after;
      for (const Glyph& g : ga) before.add(g.box);
      for (const Glyph& g : gb) after.add(g.box);
      const int moved = std::max({std::abs(before.x0 - after.x0), std::abs(before.x1 - after.x1),
                                  std::abs(before.y0 - after.y0), std::abs(before.y1 - after.y1)});
      if (moved <= 1) continue;
      add(Finding::text, 1, w, fmt::format("text moved by {} px ({} glyphs alike)", moved, ga.size()));
      continue;
    }
    if (gb.empty() && std::any_of(vanished_.begin(), vanished_.end(), [&](const Box& v) {
          // Labels that vanished with their axes or legend belong to that finding.
          const int margin = static_cast<int>(0.08 * diagonal());
          return w.x0 >= v.x0 - margin && w.x1 <= v.x1 + margin && w.y0 >= v.y0 - margin && w.y1 <= v.y1 + margin;
        }))
      continue;
    const int severity =
        edits >= options_.text_edit_severity[1] ? 3 : (edits >= options_.text_edit_severity[0] ? 2 : 1);
    if (task_ == Task::chart && severity == 1) {
      ++short_labels;
      short_box.add(w);
      continue;
    }
    std::string what = ga.empty() ? "text added" : (gb.empty() ? "text missing" : "text differs");
    add(Finding::text, severity, w,
        fmt::format("{}: {} glyph edit{} ({} glyphs vs {} in the reference)", what, edits, edits == 1 ? "" : "s",
                    gb.size(), ga.size()));
  }
  if (short_labels > 0)
    add(Finding::text, severity_by_count(short_labels), short_box,
        fmt::format("{} short label{} differ{} by a glyph or two", short_labels, short_labels == 1 ? "" : "s",
                    short_labels == 1 ? "s" : ""));
}

void SceneComparison::report_styles(const std::vector<const Blob*>& blobs) {
  // One error per colour change, however many places show it (a recoloured series).
  struct Group {
    int64_t pixels = 0;
    Box box;
    int places = 0;
  };
  std::map<std::pair<int32_t, int32_t>, Group> groups;
  auto most = [](const std::map<int32_t, int64_t>& counts) {
    return std::max_element(counts.begin(), counts.end(),
                            [](const auto& p, const auto& q) { return p.second < q.second; })
        ->first;
  };
  for (const Blob* blob : blobs) {
    // A recoloured element keeps its extent; otherwise one element now covers another (a
    // moved or resized shape), which the presence blobs report.
    const Box& before = a_.elements.items[static_cast<size_t>(most(blob->recoloured_a))].box;
    const Box& after = b_.elements.items[static_cast<size_t>(most(blob->recoloured_b))].box;
    const int iw = std::min(before.x1, after.x1) - std::max(before.x0, after.x0) + 1;
    const int ih = std::min(before.y1, after.y1) - std::max(before.y0, after.y0) + 1;
    const double inter = iw > 0 && ih > 0 ? static_cast<double>(iw) * ih : 0.0;
    const double uni = static_cast<double>(before.width()) * before.height() +
                       static_cast<double>(after.width()) * after.height() - inter;
    if (inter < 0.5 * uni) continue;
    // ... and changes colour as a whole: where two lines cross, a few pixels swap colours.
    const int64_t smaller = std::min(a_.elements.items[static_cast<size_t>(most(blob->recoloured_a))].area,
                                     b_.elements.items[static_cast<size_t>(most(blob->recoloured_b))].area);
    if (blob->changed * 5 < smaller) continue;
    const auto dominant = std::max_element(blob->recolours.begin(), blob->recolours.end(),
                                           [](const auto& p, const auto& q) { return p.second < q.second; });
    Group& g = groups[dominant->first];
    g.pixels += blob->changed;
    g.box.add(blob->box);
    ++g.places;
  }
  const double foreground = static_cast<double>(std::max<int64_t>(1, a_.foreground.count()));
  struct Change {
    std::string text;
    int severity = 1;
    Box box;
  };
  std::vector<Change> changes;
  for (const auto& [key, g] : groups) {
    const Colour from = a_.palette[key.first], to = b_.palette[key.second];
    const int d = colour_distance(from, to);
    int severity = d >= options_.colour_severity ? 2 : 1;
    if (g.pixels / foreground >= options_.recolour_area_severe) severity = 3;
    changes.push_back(
        {fmt::format("colour {} where the reference has {} (distance {}), {} of the foreground in {} place{}", hex(to),
                     hex(from), d, percent(g.pixels / foreground), g.places, g.places == 1 ? "" : "s"),
         severity, g.box});
  }
  for (const auto& [colour, box] : new_colours_)
    changes.push_back({fmt::format("colour {} is not in the reference's palette", hex(colour)), 2, box});
  if (task_ == Task::chart && changes.size() > 1) {
    // Several series recoloured: one palette change.
    Box box;
    std::vector<std::string> texts;
    for (const Change& c : changes) box.add(c.box), texts.push_back(c.text);
    add(Finding::style, 3, box, fmt::format("{} colours differ: {}", changes.size(), fmt::join(texts, "; ")));
    return;
  }
  for (const Change& c : changes) add(Finding::style, c.severity, c.box, c.text);
}

double SceneComparison::displacement(const Blob& blob) const {
  // Distance from each differing pixel to the nearest pixel of its own colour in the other
  // image: how far an edge moved. Chamfer distance within a window around the blob.
  const int w = ref_.width, h = ref_.height;
  const int pad = static_cast<int>(std::ceil(0.25 * diagonal()));
  Box window;
  window.add(std::max(0, blob.box.x0 - pad), std::max(0, blob.box.y0 - pad));
  window.add(std::min(w - 1, blob.box.x1 + pad), std::min(h - 1, blob.box.y1 + pad));
  const int ww = window.width(), wh = window.height();
  // Pixels by (own side, palette colour) whose counterpart is sought in the other image.
  std::map<std::pair<bool, int32_t>, std::vector<int>> groups;
  for (int i : blob.pixels) {
    const int32_t ca = a_.colour_index[i], cb = b_.colour_index[i];
    const int32_t ea = a_.elements.label[i], eb = b_.elements.label[i];
    if (ca >= 0 && cb < 0 && !a_.glyph_like[ea]) groups[{true, ca}].push_back(i);
    if (cb >= 0 && ca < 0 && !b_.glyph_like[eb]) groups[{false, cb}].push_back(i);
  }
  double worst = 0;
  const float cap = static_cast<float>(pad);
  std::vector<float> dist(static_cast<size_t>(ww) * wh);
  for (const auto& [key, pixels] : groups) {
    if (pixels.size() < 3) continue;
    const ImageAnalysis& own = side(key.first);
    const ImageAnalysis& other = side(!key.first);
    const Colour colour = own.palette[static_cast<size_t>(key.second)];
    for (int y = 0; y < wh; ++y)
      for (int x = 0; x < ww; ++x) {
        const int gx = window.x0 + x, gy = window.y0 + y;
        const bool target = other.foreground.at(gx, gy) &&
                            colour_distance(other.colour_at(gx, gy), colour) <= options_.colour_tolerance;
        dist[static_cast<size_t>(y) * ww + x] = target ? 0.0f : cap;
      }
    auto relax = [&](int x, int y, int nx, int ny, float step) {
      if (nx < 0 || ny < 0 || nx >= ww || ny >= wh) return;
      float& d = dist[static_cast<size_t>(y) * ww + x];
      d = std::min(d, dist[static_cast<size_t>(ny) * ww + nx] + step);
    };
    for (int y = 0; y < wh; ++y)
      for (int x = 0; x < ww; ++x) {
        relax(x, y, x - 1, y, 1.0f);
        relax(x, y, x, y - 1, 1.0f);
        relax(x, y, x - 1, y - 1, 1.4142f);
        relax(x, y, x + 1, y - 1, 1.4142f);
      }
    for (int y = wh - 1; y >= 0; --y)
      for (int x = ww - 1; x >= 0; --x) {
        relax(x, y, x + 1, y, 1.0f);
        relax(x, y, x, y + 1, 1.0f);
        relax(x, y, x + 1, y + 1, 1.4142f);
        relax(x, y, x - 1, y + 1, 1.4142f);
      }
    std::vector<float> found;
    for (int i : pixels) {
      const int x = i % w - window.x0, y = i / w - window.y0;
      const float d = dist[static_cast<size_t>(y) * ww + x];
      if (d < cap) found.push_back(d);  // no such colour nearby: not a move
    }
    if (found.empty()) continue;
    // The 90th percentile: a moved edge leaves many pixels at its distance, stray pixels few.
    const size_t k = found.size() * 9 / 10;
    std::nth_element(found.begin(), found.begin() + static_cast<std::ptrdiff_t>(k), found.end());
    worst = std::max(worst, static_cast<double>(found[k]));
  }
  return worst;
}

void SceneComparison::report_geometry(const std::vector<Blob>& blobs, const std::vector<size_t>& geometric) {
  // In a chart, the marks of one colour that changed extent are one finding (a series with other
  // values), with the severity of the farthest change: with every bar at its place but of
  // another height, one finding per bar made the right number of bars cost more than a wrong
  // one (whose bars all moved, in one blob).
  struct Extents {
    int severity = 0, places = 0;
    double farthest = 0;
    Box box;
  };
  std::map<std::string, Extents> extents;
  const double diag = diagonal();
  const double image_area = static_cast<double>(ref_.width) * ref_.height;
  std::vector<Item> items;
  std::set<std::pair<bool, int32_t>> listed;
  for (size_t index : geometric) {
    const Blob& blob = blobs[index];
    // The colour that carries the change: reported elsewhere if it is a coverage change.
    Colour main_colour = a_.background;
    int64_t main_count = 0;
    for (const auto& [c, count] : blob.missing_colours)
      if (count > main_count) main_count = count, main_colour = a_.palette[c];
    for (const auto& [c, count] : blob.extra_colours)
      if (count > main_count) main_count = count, main_colour = b_.palette[c];
    if (main_count > 0 && absorbed(main_colour)) {
      // The coverage finding stands for the marks of that colour; the text the blob also holds
      // is looked at again when the render lost most of the reference's text (see run()).
      for (bool reference_side : {true, false})
        for (int32_t e : reference_side ? blob.glyphs_a : blob.glyphs_b) {
          Blob piece;
          (reference_side ? piece.glyphs_a : piece.glyphs_b).insert(e);
          absorbed_glyphs_.push_back(std::move(piece));
        }
      continue;
    }
    for (bool reference_side : {true, false})
      for (int32_t e : reference_side ? blob.glyphs_a : blob.glyphs_b) {
        Blob piece;
        (reference_side ? piece.glyphs_a : piece.glyphs_b).insert(e);
        loose_glyphs_.push_back(std::move(piece));
      }

    int64_t geometric_px = 0, lost_px = 0;
    std::vector<Item> blob_items;
    for (int i : blob.pixels) {
      const int32_t ea = a_.elements.label[i], eb = b_.elements.label[i];
      const bool ga = ea >= 0 && !a_.glyph_like[ea], gb = eb >= 0 && !b_.glyph_like[eb];
      if (!ga && !gb) continue;
      ++geometric_px;
      if ((ga && survival(true, ea).lost) || (gb && survival(false, eb).lost)) ++lost_px;
    }
    if (geometric_px == 0) continue;
    if (lost_px * 2 >= geometric_px) {
      for (bool reference_side : {true, false}) {
        const ImageAnalysis& an = side(reference_side);
        for (int32_t e : reference_side ? blob.elements_a : blob.elements_b) {
          const Component& comp = an.elements.items[static_cast<size_t>(e)];
          if (comp.area < options_.min_diff_pixels || !survival(reference_side, e).lost) continue;
          if (!listed.insert({reference_side, e}).second) continue;  // a large element touches many blobs
          items.push_back({reference_side, an.palette[static_cast<size_t>(comp.cls)], comp.area, comp.box, index});
        }
      }
      continue;
    }

    // Extent: the same element, larger, smaller or slightly displaced.
    const double moved = displacement(blob);
    double size_change = 0;
    Box before, after;
    int64_t largest = 0;
    for (int32_t e : blob.elements_a) {
      const Component& comp = a_.elements.items[static_cast<size_t>(e)];
      const Survival s = survival(true, e);
      if (s.other < 0 || comp.area <= largest) continue;
      largest = comp.area;
      before = comp.box;
      after = b_.elements.items[static_cast<size_t>(s.other)].box;
      // Antialiasing may change a box by a pixel.
      const int dw = std::abs(after.width() - before.width()), dh = std::abs(after.height() - before.height());
      size_change = std::max(dw > 1 ? dw / static_cast<double>(before.width()) : 0.0,
                             dh > 1 ? dh / static_cast<double>(before.height()) : 0.0);
    }
    if (task_ != Task::svg) size_change = 0;  // bars grow with their values: the displacement says it
    if (moved <= kNoiseDisplacement && size_change < 0.05) continue;
    int severity = severity_of(moved / diag, options_.displacement_severity[0], options_.displacement_severity[1]);
    std::string description;
    if (task_ == Task::svg) {
      severity = std::max(severity, severity_of(size_change, options_.size_severity[0], options_.size_severity[1]));
      description =
          largest > 0 ? fmt::format("shape {} vs {} in the reference ({} size change), edges moved by up to {:.0f} px",
                                    box_size(after), box_size(before), percent(size_change), moved)
                      : fmt::format("shape edges moved by up to {:.0f} px", moved);
    } else if (task_ == Task::chart) {
      auto& x = extents[hex(main_colour)];
      x.severity = std::max(x.severity, severity);
      x.farthest = std::max(x.farthest, moved);
      x.box.add(blob.box);
      ++x.places;
      continue;
    } else {
      description = fmt::format("marks of colour {} end up to {:.0f} px away from the reference ({} of the diagonal)",
                                hex(main_colour), moved, percent(moved / diag));
    }
    add(Finding::extent, severity, blob.box, description);
  }

  // Parts of one object (a fill inside its outline, a swatch inside the legend frame, the
  // antialiased seam between fill and stroke) go with the largest part around them.
  auto area_of = [](const Box& b) { return static_cast<double>(b.width()) * b.height(); };
  auto inside = [](const Box& p, const Box& q) {  // share of p within q
    const int iw = std::min(p.x1, q.x1) - std::max(p.x0, q.x0) + 1,
              ih = std::min(p.y1, q.y1) - std::max(p.y0, q.y0) + 1;
    return iw > 0 && ih > 0 ? static_cast<double>(iw) * ih / (static_cast<double>(p.width()) * p.height()) : 0.0;
  };
  // In a chart, a part has fewer pixels than its whole: the axes frame's box holds every bar,
  // but bars are data, not parts of the frame.
  for (Item& part : items)
    for (const Item& whole : items)
      if (&part != &whole && part.blob == whole.blob && part.reference_side == whole.reference_side &&
          area_of(whole.box) > area_of(part.box) && inside(part.box, whole.box) >= 0.8 &&
          (task_ != Task::chart || part.area <= whole.area)) {
        part.paired = true;  // reported with `whole`
        break;
      }

  // An element that vanished where another one, of another colour, appeared changed colour
  // and extent at once (a recoloured bar that also got taller): an extent change.
  auto overlap = [](const Box& p, const Box& q) {
    const int iw = std::min(p.x1, q.x1) - std::max(p.x0, q.x0) + 1,
              ih = std::min(p.y1, q.y1) - std::max(p.y0, q.y0) + 1;
    const double inter = iw > 0 && ih > 0 ? static_cast<double>(iw) * ih : 0.0;
    return inter / (static_cast<double>(p.width()) * p.height() + static_cast<double>(q.width()) * q.height() - inter);
  };
  for (Item& gone : items) {
    if (!gone.reference_side || gone.paired) continue;
    for (Item& added : items) {
      if (added.reference_side || added.paired || overlap(gone.box, added.box) < 0.3) continue;
      gone.paired = added.paired = true;
      const double moved = std::max({std::abs(gone.box.x0 - added.box.x0), std::abs(gone.box.x1 - added.box.x1),
                                     std::abs(gone.box.y0 - added.box.y0), std::abs(gone.box.y1 - added.box.y1)}) *
                           1.0;
      Box both = gone.box;
      both.add(added.box);
      add(Finding::extent,
          severity_of(moved / diag, options_.displacement_severity[0], options_.displacement_severity[1]), both,
          fmt::format("element {} ({}) replaced by a {} one ({}): edges moved by up to {:.0f} px", hex(gone.colour),
                      box_size(gone.box), hex(added.colour), box_size(added.box), moved));
      break;
    }
  }

  // Pair each vanished element with an added one of its colour and size: a move.
  struct MovedMarks {
    int n = 0;
    double farthest = 0;
    Box box;
  };
  std::map<std::string, MovedMarks> moved_marks;  // chart: small marks, per colour
  std::vector<size_t> order(items.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](size_t p, size_t q) { return items[p].area > items[q].area; });
  for (size_t i : order) {
    Item& gone = items[i];
    if (!gone.reference_side || gone.paired) continue;
    size_t best = items.size();
    double best_distance = std::numeric_limits<double>::max();
    for (size_t j = 0; j < items.size(); ++j) {
      const Item& added = items[j];
      if (added.reference_side || added.paired) continue;
      if (colour_distance(added.colour, gone.colour) > options_.colour_tolerance) continue;
      const double ratio = static_cast<double>(added.area) / static_cast<double>(gone.area);
      if (ratio > kPairArea || ratio < 1.0 / kPairArea) continue;
      const double d = centre_distance(gone.box, added.box);
      if (d < best_distance) best_distance = d, best = j;
    }
    if (best == items.size()) continue;
    gone.paired = items[best].paired = true;
    Box both = gone.box;
    both.add(items[best].box);
    if (task_ == Task::chart &&
        gone.box.width() * static_cast<double>(gone.box.height()) / image_area < options_.element_severity[0]) {
      auto& m = moved_marks[hex(gone.colour)];
      ++m.n;
      m.farthest = std::max(m.farthest, best_distance);
      m.box.add(both);
      continue;
    }
    add(Finding::moved,
        severity_of(best_distance / diag, options_.displacement_severity[0], options_.displacement_severity[1]), both,
        fmt::format("element of colour {} ({}) moved by {:.0f} px ({} of the diagonal), now at the {}",
                    hex(gone.colour), box_size(gone.box), best_distance, percent(best_distance / diag),
                    where(items[best].box)));
  }
  for (const auto& [colour, x] : extents)
    add(Finding::extent, x.severity, x.box,
        fmt::format("marks of colour {} end up to {:.0f} px away from the reference ({} of the diagonal{})", colour,
                    x.farthest, percent(x.farthest / diag), x.places > 1 ? fmt::format(", {} places", x.places) : ""));
  // Scatter points and markers that moved: one finding per colour, as for those that vanished,
  // so that an answer of the reference's kind with points elsewhere (one finding per point
  // before) does not cost more than one of another kind. Severity: by how many moved (1, 2 or
  // 3 for up to 2, 5, more), at most that of the farthest move.
  for (const auto& [colour, m] : moved_marks) {
    const int by_count = severity_by_count(m.n);
    add(Finding::moved,
        std::min(by_count,
                 severity_of(m.farthest / diag, options_.displacement_severity[0], options_.displacement_severity[1])),
        m.box,
        fmt::format("{} small mark{} of colour {} moved by up to {:.0f} px ({} of the diagonal)", m.n,
                    m.n == 1 ? "" : "s", colour, m.farthest, percent(m.farthest / diag)));
  }
  // What is left: per blob, elements that vanished or appeared. Small ones (markers, points)
  // are marks rather than parts of the structure: one extent finding per colour.
  std::map<size_t, std::pair<int, int>> counts;  // blob -> (missing, added)
  std::map<size_t, Box> boxes;
  std::map<size_t, std::set<std::string>> colours;
  std::map<std::string, std::pair<int, int>> marks;  // colour -> (missing, added)
  std::map<std::string, Box> mark_boxes;
  for (const Item& item : items) {
    if (item.paired) continue;
    const double fraction = item.box.width() * static_cast<double>(item.box.height()) / image_area;
    if (fraction < options_.element_severity[0]) {
      auto& m = marks[hex(item.colour)];
      (item.reference_side ? m.first : m.second)++;
      mark_boxes[hex(item.colour)].add(item.box);
      continue;
    }
    auto& c = counts[item.blob];
    (item.reference_side ? c.first : c.second)++;
    boxes[item.blob].add(item.box);
    colours[item.blob].insert(hex(item.colour));
  }
  auto summary = [](const std::pair<int, int>& c, const char* what) {
    std::vector<std::string> parts;
    if (c.first > 0) parts.push_back(fmt::format("{} {}{} missing", c.first, what, c.first == 1 ? "" : "s"));
    if (c.second > 0) parts.push_back(fmt::format("{} {}{} added", c.second, what, c.second == 1 ? "" : "s"));
    return fmt::format("{}", fmt::join(parts, ", "));
  };
  for (const auto& [blob, c] : counts) {
    const Box& box = boxes[blob];
    if (c.first > 0) vanished_.push_back(box);
    const double fraction = box.width() * static_cast<double>(box.height()) / image_area;
    add(Finding::element, severity_of(fraction, options_.element_severity[0], options_.element_severity[1]), box,
        fmt::format("{} (colours {}) over {} ({} of the image)", summary(c, "element"), fmt::join(colours[blob], ", "),
                    box_size(box), percent(fraction)));
  }
  for (const auto& [colour, c] : marks) {
    const int n = c.first + c.second;
    add(Finding::extent, severity_by_count(n), mark_boxes[colour],
        fmt::format("{} of colour {}", summary(c, "small mark"), colour));
  }
}

}  // namespace

std::vector<CriticError> compare_scene(Task task, const render::RgbImage& reference, const render::RgbImage& rendered,
                                       const PixelCriticOptions& options) {
  return SceneComparison(task, reference, rendered, options).run();
}

}  // namespace visrl::reward::pixel
