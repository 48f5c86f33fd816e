#include "reward/pixel/image_analysis.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <unordered_map>

namespace visrl::reward::pixel {

namespace {

constexpr int kSolidTolerance = 6;  // neighbours this close count as the same flat colour
constexpr int kMinSolidPixels = 4;  // a palette colour needs this many flat pixels
constexpr int kPaletteMerge = 20;   // palette colours closer than this are one colour
constexpr size_t kMaxPalette = 64;
constexpr double kShadeResidual = 10;  // a mix of a palette colour with the page this close is a shade

bool close(const uint8_t* a, const uint8_t* b) {
  return std::abs(a[0] - b[0]) <= kSolidTolerance && std::abs(a[1] - b[1]) <= kSolidTolerance &&
         std::abs(a[2] - b[2]) <= kSolidTolerance;
}

// How well `c` is explained as alpha * colour + (1 - alpha) * bg (the background or another
// colour): the best alpha in [0, 1] and the largest channel residual.
std::pair<double, double> mix_of(Colour c, Colour colour, Colour bg) {
  const double v[3] = {double(colour.r - bg.r), double(colour.g - bg.g), double(colour.b - bg.b)};
  const double d[3] = {double(c.r - bg.r), double(c.g - bg.g), double(c.b - bg.b)};
  const double vv = v[0] * v[0] + v[1] * v[1] + v[2] * v[2];
  const double alpha = std::clamp(vv > 0 ? (d[0] * v[0] + d[1] * v[1] + d[2] * v[2]) / vv : 0.0, 0.0, 1.0);
  double residual = 0;
  for (int i = 0; i < 3; ++i) residual = std::max(residual, std::abs(d[i] - alpha * v[i]));
  return {alpha, residual};
}

// Whether `c` is alpha * p + beta * q + (1 - alpha - beta) * bg with both weights positive.
bool seam_of(Colour c, Colour p, Colour q, Colour bg) {
  const double u[3] = {double(p.r - bg.r), double(p.g - bg.g), double(p.b - bg.b)};
  const double v[3] = {double(q.r - bg.r), double(q.g - bg.g), double(q.b - bg.b)};
  const double d[3] = {double(c.r - bg.r), double(c.g - bg.g), double(c.b - bg.b)};
  double uu = 0, uv = 0, vv = 0, du = 0, dv = 0;
  for (int i = 0; i < 3; ++i)
    uu += u[i] * u[i], uv += u[i] * v[i], vv += v[i] * v[i], du += d[i] * u[i], dv += d[i] * v[i];
  const double det = uu * vv - uv * uv;
  if (std::abs(det) < 1e-6) return false;
  const double alpha = (du * vv - dv * uv) / det, beta = (dv * uu - du * uv) / det;
  if (alpha < 0.03 || beta < 0.03 || alpha + beta > 1.03) return false;
  double residual = 0;
  for (int i = 0; i < 3; ++i) residual = std::max(residual, std::abs(d[i] - alpha * u[i] - beta * v[i]));
  return residual <= kShadeResidual;
}

// `palette` extended with the colours of the given pixels (histogram, 4 bits per channel).
// Colours farthest from the background come first, so that the antialiasing shades of a colour
// (mixes of it with the background, flat along strokes) are recognised as such and not made
// colours of their own. Interior colours are all real: they are added without absorbing.
std::vector<Colour> palette_from(const render::RgbImage& image, const std::vector<size_t>& pixels, Colour bg,
                                 std::vector<Colour> palette, bool absorb_shades) {
  std::vector<int> counts(4096, 0);
  std::vector<std::array<int64_t, 3>> sums(4096, {0, 0, 0});
  for (size_t i : pixels) {
    const uint8_t* p = &image.rgb[i * 3];
    const int bin = ((p[0] >> 4) << 8) | ((p[1] >> 4) << 4) | (p[2] >> 4);
    ++counts[bin];
    for (int c = 0; c < 3; ++c) sums[bin][c] += p[c];
  }
  const size_t first_new = palette.size();
  std::vector<std::pair<Colour, int>> candidates;
  for (int b = 0; b < 4096; ++b)
    if (counts[b] >= kMinSolidPixels)
      candidates.push_back({{static_cast<int>(sums[b][0] / counts[b]), static_cast<int>(sums[b][1] / counts[b]),
                             static_cast<int>(sums[b][2] / counts[b])},
                            counts[b]});
  std::stable_sort(candidates.begin(), candidates.end(), [&](const auto& p, const auto& q) {
    const int dp = colour_distance(p.first, bg), dq = colour_distance(q.first, bg);
    return dp != dq ? dp > dq : p.second > q.second;
  });
  for (const auto& [colour, count] : candidates) {
    bool known = false;
    for (const Colour& existing : palette) {
      const auto [alpha, residual] = mix_of(colour, existing, bg);
      const bool shade = absorb_shades && alpha <= 0.97 && residual <= kShadeResidual;
      known = known || colour_distance(existing, colour) < kPaletteMerge || shade;
    }
    // The seam where two colours meet (adjacent bars, a fill and its outline) mixes them with
    // the background.
    for (size_t i = 0; absorb_shades && !known && i < palette.size(); ++i)
      for (size_t j = i + 1; !known && j < palette.size(); ++j) known = seam_of(colour, palette[i], palette[j], bg);
    if (!known) palette.push_back(colour);
    if (palette.size() >= kMaxPalette) break;
  }
  // A seam may come before one of its colours in the order above (orange over a dark axis is
  // farther from white than the axis): check the colours added here again against the rest.
  for (size_t k = palette.size(); absorb_shades && k-- > first_new;) {
    bool explained = false;
    for (size_t i = 0; i < palette.size() && !explained; ++i) {
      if (i == k) continue;
      const auto [alpha, residual] = mix_of(palette[k], palette[i], bg);
      explained = alpha <= 0.97 && residual <= kShadeResidual;
      for (size_t j = i + 1; j < palette.size() && !explained; ++j)
        explained = j != k && seam_of(palette[k], palette[i], palette[j], bg);
    }
    if (explained) palette.erase(palette.begin() + static_cast<std::ptrdiff_t>(k));
  }
  return palette;
}

// The palette colour that best explains `c` as alpha * colour + (1 - alpha) * background,
// preferring solid matches (alpha near 1) among equally good explanations.
int32_t explain(Colour c, Colour bg, const std::vector<Colour>& palette) {
  int32_t best = 0;
  double best_score = 1e18;
  for (size_t k = 0; k < palette.size(); ++k) {
    const auto [alpha, residual] = mix_of(c, palette[k], bg);
    const double score = residual + 16.0 * (1.0 - alpha);
    if (score < best_score) {
      best_score = score;
      best = static_cast<int32_t>(k);
    }
  }
  return best;
}

// Whether pixel (x, y) of image `a` lies inside the envelope of the pixel and its four
// neighbours in image `b`, widened by `margin`: an edge drawn a fraction of a pixel elsewhere
// passes.
bool inside_envelope(const std::vector<uint8_t>& a, const std::vector<uint8_t>& b, int w, int h, int x, int y,
                     int margin) {
  const uint8_t* pa = &a[(static_cast<size_t>(y) * w + x) * 3];
  for (int c = 0; c < 3; ++c) {
    int lo = 255, hi = 0;
    for (const auto& [dx, dy] : {std::pair{0, 0}, {-1, 0}, {1, 0}, {0, -1}, {0, 1}}) {
      const int nx = x + dx, ny = y + dy;
      if (nx < 0 || ny < 0 || nx >= w || ny >= h) continue;
      const int v = b[(static_cast<size_t>(ny) * w + nx) * 3 + c];
      lo = std::min(lo, v);
      hi = std::max(hi, v);
    }
    if (pa[c] < lo - margin || pa[c] > hi + margin) return false;
  }
  return true;
}

}  // namespace

ImageAnalysis analyse_image(const render::RgbImage& image, const PixelCriticOptions& options) {
  ImageAnalysis a;
  const int w = image.width, h = image.height;
  a.background = background_colour(image);
  a.foreground = foreground_mask(image, a.background, options.foreground_threshold);
  a.glyph_max_px = std::max(8, static_cast<int>(std::lround(options.glyph_max_height * std::min(w, h))));
  return a;
}

void describe_elements(const render::RgbImage& image, const PixelCriticOptions& options, ImageAnalysis& a) {
  const int w = image.width, h = image.height;

  // Interior pixels (all eight neighbours alike) give the colours of fills and thick strokes;
  // pixels flat along one axis add the colours of thin strokes and text, unless they are
  // antialiasing shades of a colour already known. Hairline drawings fall back to all pixels.
  std::vector<size_t> interior, flat, all;
  for (int y = 0; y < h; ++y) {
    for (int x = 0; x < w; ++x) {
      const size_t i = static_cast<size_t>(y) * w + x;
      if (!a.foreground.bits[i]) continue;
      all.push_back(i);
      if (x == 0 || y == 0 || x + 1 == w || y + 1 == h) continue;
      const uint8_t* p = &image.rgb[i * 3];
      const size_t row = 3 * static_cast<size_t>(w);
      const bool flat_x = close(p, p - 3) && close(p, p + 3);
      const bool flat_y = close(p, p - row) && close(p, p + row);
      if (flat_x || flat_y) flat.push_back(i);
      if (flat_x && flat_y && close(p, p - row - 3) && close(p, p - row + 3) && close(p, p + row - 3) &&
          close(p, p + row + 3))
        interior.push_back(i);
    }
  }
  a.palette = palette_from(image, interior, a.background, {}, false);
  a.palette = palette_from(image, flat, a.background, a.palette, true);
  if (a.palette.empty()) a.palette = palette_from(image, all, a.background, {}, true);
  if (a.palette.empty() && !all.empty()) {
    const uint8_t* p = &image.rgb[all.front() * 3];
    a.palette.push_back({p[0], p[1], p[2]});
  }

  a.colour_index.assign(static_cast<size_t>(w) * h, -1);
  std::unordered_map<uint32_t, int32_t> cache;
  for (size_t i : all) {
    const uint8_t* p = &image.rgb[i * 3];
    const uint32_t key = (uint32_t{p[0]} << 16) | (uint32_t{p[1]} << 8) | p[2];
    auto it = cache.find(key);
    if (it == cache.end()) it = cache.emplace(key, explain({p[0], p[1], p[2]}, a.background, a.palette)).first;
    a.colour_index[i] = it->second;
  }

  a.elements = label_components(w, h, a.colour_index);
  a.glyph_like.resize(a.elements.items.size());
  for (size_t e = 0; e < a.elements.items.size(); ++e) {
    const Component& comp = a.elements.items[e];
    const Colour colour = a.palette[static_cast<size_t>(comp.cls)];
    a.glyph_like[e] = comp.box.height() <= a.glyph_max_px && comp.box.width() <= 2 * a.glyph_max_px &&
                      chroma(colour) <= options.glyph_max_chroma &&
                      colour_distance(colour, a.background) >= options.glyph_min_contrast;
  }
}

Mask difference_mask(const render::RgbImage& a, const Mask& foreground_a, const render::RgbImage& b,
                     const Mask& foreground_b, const PixelCriticOptions& options) {
  const int w = a.width, h = a.height;
  Mask diff(w, h);
  for (int y = 0; y < h; ++y) {
    for (int x = 0; x < w; ++x) {
      const size_t i = static_cast<size_t>(y) * w + x;
      if (!foreground_a.bits[i] && !foreground_b.bits[i]) continue;
      const uint8_t* pa = &a.rgb[i * 3];
      const uint8_t* pb = &b.rgb[i * 3];
      const int raw = std::max({std::abs(pa[0] - pb[0]), std::abs(pa[1] - pb[1]), std::abs(pa[2] - pb[2])});
      if (raw <= options.diff_threshold) continue;
      if (inside_envelope(a.rgb, b.rgb, w, h, x, y, options.envelope_margin) &&
          inside_envelope(b.rgb, a.rgb, w, h, x, y, options.envelope_margin))
        continue;
      diff.bits[i] = 1;
    }
  }
  const Components specks = label_components(diff);
  for (size_t i = 0; i < diff.bits.size(); ++i)
    if (diff.bits[i] && specks.items[static_cast<size_t>(specks.label[i])].area < options.min_diff_pixels)
      diff.bits[i] = 0;
  return diff;
}

}  // namespace visrl::reward::pixel
