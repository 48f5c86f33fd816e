#include "reward/pixel/glyphs.h"

#include <algorithm>
#include <limits>
#include <numeric>
#include <optional>

namespace visrl::reward::pixel {

namespace {

int find(std::vector<int>& parent, int i) {
  while (parent[i] != i) i = parent[i] = parent[parent[i]];
  return i;
}

int x_overlap(const Box& a, const Box& b) {
  return std::max(0, std::min(a.x1, b.x1) - std::max(a.x0, b.x0) + 1);
}

int y_gap(const Box& a, const Box& b) {
  return std::max(0, std::max(a.y0, b.y0) - std::min(a.y1, b.y1) - 1);
}

int x_gap(const Box& a, const Box& b) {
  return std::max(0, std::max(a.x0, b.x0) - std::min(a.x1, b.x1) - 1);
}

}  // namespace

std::vector<Glyph> glyph_sequence(const Mask& ink, const std::vector<uint8_t>& levels, const Box& window_in,
                                  int max_glyphs) {
  Box window;
  if (!window_in.empty()) {
    window.add(std::max(0, window_in.x0), std::max(0, window_in.y0));
    window.add(std::min(ink.width - 1, window_in.x1), std::min(ink.height - 1, window_in.y1));
  }
  if (window.empty() || window.x0 > window.x1 || window.y0 > window.y1) return {};
  Mask sub(window.width(), window.height());
  for (int y = 0; y < sub.height; ++y)
    for (int x = 0; x < sub.width; ++x) sub.at(x, y) = ink.at(window.x0 + x, window.y0 + y);
  const Components pieces = label_components(sub);
  const int n = static_cast<int>(pieces.items.size());
  if (n == 0) return {};

  // Stack a small piece onto the piece it nearly touches above or below (the dot of an i or
  // j, accents): sharing columns, at most half as high, within half the median piece height.
  std::vector<int> heights;
  for (const auto& p : pieces.items) heights.push_back(p.box.height());
  std::nth_element(heights.begin(), heights.begin() + n / 2, heights.end());
  const int max_gap = std::max(2, heights[n / 2] / 2);
  std::vector<int> parent(n);
  std::iota(parent.begin(), parent.end(), 0);
  for (int i = 0; i < n; ++i) {
    for (int j = i + 1; j < n; ++j) {
      const Box& a = pieces.items[i].box;
      const Box& b = pieces.items[j].box;
      if (x_overlap(a, b) * 2 >= std::min(a.width(), b.width()) && y_gap(a, b) <= max_gap &&
          2 * std::min(a.height(), b.height()) <= std::max(a.height(), b.height()))
        parent[find(parent, i)] = find(parent, j);
    }
  }
  std::vector<int> glyph_of(n, -1);
  std::vector<Glyph> glyphs;
  for (int i = 0; i < n; ++i) {
    const int root = find(parent, i);
    if (glyph_of[root] < 0) {
      glyph_of[root] = static_cast<int>(glyphs.size());
      glyphs.emplace_back();
    }
    glyphs[glyph_of[root]].box.add(pieces.items[i].box);
  }
  for (Glyph& g : glyphs) g.bits.assign(static_cast<size_t>(g.box.width()) * g.box.height(), 0);
  for (int y = 0; y < sub.height; ++y) {
    for (int x = 0; x < sub.width; ++x) {
      const int32_t piece = pieces.at(x, y);
      if (piece < 0) continue;
      Glyph& g = glyphs[glyph_of[find(parent, piece)]];
      g.bits[static_cast<size_t>(y - g.box.y0) * g.box.width() + (x - g.box.x0)] = 1;
    }
  }

  // Lines: a glyph joins the first line whose vertical span covers half of its height.
  std::sort(glyphs.begin(), glyphs.end(), [](const Glyph& a, const Glyph& b) {
    return a.box.y0 + a.box.y1 != b.box.y0 + b.box.y1 ? a.box.y0 + a.box.y1 < b.box.y0 + b.box.y1 : a.box.x0 < b.box.x0;
  });
  std::vector<Box> lines;
  for (Glyph& g : glyphs) {
    g.line = -1;
    for (size_t l = 0; l < lines.size(); ++l) {
      const int overlap = std::min(lines[l].y1, g.box.y1) - std::max(lines[l].y0, g.box.y0) + 1;
      if (overlap * 2 >= g.box.height()) {
        g.line = static_cast<int>(l);
        lines[l].add(g.box);
        break;
      }
    }
    if (g.line < 0) {
      g.line = static_cast<int>(lines.size());
      lines.push_back(g.box);
    }
  }
  // Renumber lines top to bottom, then order glyphs by (line, x).
  std::vector<int> order(lines.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](int a, int b) { return lines[a].y0 < lines[b].y0; });
  std::vector<int> rank(lines.size());
  for (size_t i = 0; i < order.size(); ++i) rank[order[i]] = static_cast<int>(i);
  for (Glyph& g : glyphs) {
    g.offset = g.box.y0 - lines[g.line].y0;
    g.line = rank[g.line];
  }
  std::sort(glyphs.begin(), glyphs.end(),
            [](const Glyph& a, const Glyph& b) { return a.line != b.line ? a.line < b.line : a.box.x0 < b.box.x0; });
  for (Glyph& g : glyphs) {  // back to image coordinates, with the darkness around the box
    g.box.x0 += window.x0;
    g.box.x1 += window.x0;
    g.box.y0 += window.y0;
    g.box.y1 += window.y0;
    const int w = g.box.width() + 2, h = g.box.height() + 2;
    g.levels.assign(static_cast<size_t>(w) * h, 0);
    for (int y = 0; y < h; ++y) {
      for (int x = 0; x < w; ++x) {
        const int ix = g.box.x0 - 1 + x, iy = g.box.y0 - 1 + y;
        if (ix >= 0 && iy >= 0 && ix < ink.width && iy < ink.height)
          g.levels[static_cast<size_t>(y) * w + x] = levels[static_cast<size_t>(iy) * ink.width + ix];
      }
    }
  }
  if (static_cast<int>(glyphs.size()) > max_glyphs) glyphs.resize(max_glyphs);
  return glyphs;
}

namespace {

// Strong pixels of `a` (inside its box) where `b`, placed (dx2, dy2) / 2 pixels from `a`, has
// no ink above `lo` (bilinear between pixels at half-pixel placements).
int unmatched(const Glyph& a, const Glyph& b, int dx2, int dy2, int hi, int lo) {
  const int wa = a.box.width(), ha = a.box.height();
  const int sa = wa + 2, sb = b.box.width() + 2, hb = b.box.height() + 2;
  auto at = [&](int x, int y) {
    return x >= 0 && y >= 0 && x < sb && y < hb ? int{b.levels[static_cast<size_t>(y) * sb + x]} : 0;
  };
  int count = 0;
  for (int y = 0; y < ha; ++y) {
    for (int x = 0; x < wa; ++x) {
      if (a.levels[static_cast<size_t>(y + 1) * sa + x + 1] < hi) continue;
      // b's coordinates of this pixel, doubled: (2x - dx2, 2y - dy2) + 2 for b's frame.
      const int bx2 = 2 * x - dx2 + 2, by2 = 2 * y - dy2 + 2;
      const int x0 = bx2 >> 1, y0 = by2 >> 1, fx = bx2 & 1, fy = by2 & 1;
      const int v = (at(x0, y0) * (2 - fx) * (2 - fy) + at(x0 + 1, y0) * fx * (2 - fy) +
                     at(x0, y0 + 1) * (2 - fx) * fy + at(x0 + 1, y0 + 1) * fx * fy) /
                    4;
      count += v < lo;
    }
  }
  return count;
}

}  // namespace

int glyph_mismatch(const Glyph& a, const Glyph& b) {
  const int wa = a.box.width(), ha = a.box.height(), wb = b.box.width(), hb = b.box.height();
  if (std::abs(wa - wb) > 1 || std::abs(ha - hb) > 1 || std::abs(a.offset - b.offset) > 1) return -1;
  int peak = 0;
  for (uint8_t v : a.levels) peak = std::max(peak, int{v});
  for (uint8_t v : b.levels) peak = std::max(peak, int{v});
  const int hi = peak * 3 / 5, lo = peak / 5;
  // Ink moved by a fraction of a pixel: try placements in half-pixel steps within a pixel of
  // the boxes' corners (binarised boxes may differ by a pixel for such a move).
  int best = std::numeric_limits<int>::max();
  for (int dx2 = -2; dx2 <= 2; ++dx2)
    for (int dy2 = -2; dy2 <= 2; ++dy2)
      best = std::min(best, unmatched(a, b, dx2, dy2, hi, lo) + unmatched(b, a, -dx2, -dy2, hi, lo));
  return best;
}

bool same_glyph(const Glyph& a, const Glyph& b) {
  const int mismatch = glyph_mismatch(a, b);
  if (mismatch < 0) return false;
  int peak = 0;
  for (uint8_t v : a.levels) peak = std::max(peak, int{v});
  for (uint8_t v : b.levels) peak = std::max(peak, int{v});
  int strong = 0;
  for (const Glyph* g : {&a, &b})
    for (uint8_t v : g->levels) strong += v >= peak * 3 / 5;
  // Measured on DejaVu Sans at 12-22 px: a glyph drawn a fraction of a pixel elsewhere leaves
  // no such pixel; 3 of 630 pairs of different letters and digits at 12 px leave none either.
  return mismatch <= strong / 50;
}

namespace {

// Two neighbouring glyphs as one (they touch in the other rendering), or nullopt when they
// are not neighbours. `p` comes first.
std::optional<Glyph> merged(const Glyph& p, const Glyph& q) {
  // Side by side on a line, or stacked (the letters of rotated text follow each other down).
  const bool beside = x_gap(p.box, q.box) <= 2 && y_gap(p.box, q.box) == 0 && p.line == q.line;
  const bool stacked = y_gap(p.box, q.box) <= 2 && x_overlap(p.box, q.box) > 0;
  if (!beside && !stacked) return std::nullopt;
  Glyph g;
  g.line = p.line;
  g.box = p.box;
  g.box.add(q.box);
  g.offset = p.line == q.line ? std::min(p.offset, q.offset) : p.offset;
  const int w = g.box.width(), h = g.box.height();
  g.bits.assign(static_cast<size_t>(w) * h, 0);
  g.levels.assign(static_cast<size_t>(w + 2) * (h + 2), 0);
  for (const Glyph* part : {&p, &q}) {
    const int pw = part->box.width(), ph = part->box.height();
    const int ox = part->box.x0 - g.box.x0, oy = part->box.y0 - g.box.y0;
    for (int y = 0; y < ph; ++y)
      for (int x = 0; x < pw; ++x)
        g.bits[static_cast<size_t>(y + oy) * w + x + ox] |= part->bits[static_cast<size_t>(y) * pw + x];
    for (int y = 0; y < ph + 2; ++y)
      for (int x = 0; x < pw + 2; ++x) {
        uint8_t& v = g.levels[static_cast<size_t>(y + oy) * (w + 2) + x + ox];
        v = std::max(v, part->levels[static_cast<size_t>(y) * (pw + 2) + x]);
      }
  }
  return g;
}

}  // namespace

int glyph_edit_distance(const std::vector<Glyph>& a, const std::vector<Glyph>& b) {
  // Levenshtein, plus free merges: one glyph here may be two or three touching glyphs there.
  constexpr size_t kMaxMerge = 3;
  const size_t n = a.size(), m = b.size();
  // runs_x[i][k]: glyphs i-k-1 .. i-1 merged (k = 0: two glyphs, k = 1: three).
  auto runs = [&](const std::vector<Glyph>& g) {
    std::vector<std::vector<std::optional<Glyph>>> out(g.size() + 1);
    for (size_t i = 2; i <= g.size(); ++i) {
      std::optional<Glyph> run = merged(g[i - 2], g[i - 1]);
      out[i].push_back(run);
      for (size_t k = 3; k <= kMaxMerge && i >= k; ++k) {
        if (run) run = merged(g[i - k], *run);
        out[i].push_back(run);
      }
    }
    return out;
  };
  const auto runs_a = runs(a), runs_b = runs(b);
  std::vector<std::vector<int>> d(n + 1, std::vector<int>(m + 1, 0));
  for (size_t i = 0; i <= n; ++i) d[i][0] = static_cast<int>(i);
  for (size_t j = 0; j <= m; ++j) d[0][j] = static_cast<int>(j);
  for (size_t i = 1; i <= n; ++i) {
    for (size_t j = 1; j <= m; ++j) {
      int best =
          std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (same_glyph(a[i - 1], b[j - 1]) ? 0 : 1)});
      for (size_t k = 0; k < runs_b[j].size(); ++k)
        if (runs_b[j][k] && d[i - 1][j - k - 2] < best && same_glyph(a[i - 1], *runs_b[j][k]))
          best = d[i - 1][j - k - 2];
      for (size_t k = 0; k < runs_a[i].size(); ++k)
        if (runs_a[i][k] && d[i - k - 2][j - 1] < best && same_glyph(*runs_a[i][k], b[j - 1]))
          best = d[i - k - 2][j - 1];
      d[i][j] = best;
    }
  }
  return d[n][m];
}

Glyph block_glyph(const Mask& ink, const std::vector<uint8_t>& levels, const Box& window) {
  Glyph g;
  for (int y = std::max(0, window.y0); y <= std::min(ink.height - 1, window.y1); ++y)
    for (int x = std::max(0, window.x0); x <= std::min(ink.width - 1, window.x1); ++x)
      if (ink.at(x, y)) g.box.add(x, y);
  if (g.box.empty()) return g;
  const int w = g.box.width(), h = g.box.height();
  g.bits.assign(static_cast<size_t>(w) * h, 0);
  g.levels.assign(static_cast<size_t>(w + 2) * (h + 2), 0);
  for (int y = -1; y <= h; ++y)
    for (int x = -1; x <= w; ++x) {
      const int ix = g.box.x0 + x, iy = g.box.y0 + y;
      if (ix < 0 || iy < 0 || ix >= ink.width || iy >= ink.height) continue;
      g.levels[static_cast<size_t>(y + 1) * (w + 2) + x + 1] = levels[static_cast<size_t>(iy) * ink.width + ix];
      if (x >= 0 && y >= 0 && x < w && y < h) g.bits[static_cast<size_t>(y) * w + x] = ink.at(ix, iy);
    }
  return g;
}

bool digit_like(const std::vector<Glyph>& glyphs, int cap) {
  int tallest = 0;
  for (const Glyph& g : glyphs) tallest = std::max(tallest, g.box.height());
  std::vector<int> tops, bottoms;
  for (const Glyph& g : glyphs) {
    if (g.box.height() * 10 < tallest * 4) continue;  // . , - and the like
    tops.push_back(g.offset);
    bottoms.push_back(g.offset + g.box.height());
  }
  if (tops.empty()) return false;
  auto median = [](std::vector<int> v) {
    std::nth_element(v.begin(), v.begin() + v.size() / 2, v.end());
    return v[v.size() / 2];
  };
  const int top = median(tops), bottom = median(bottoms);
  for (size_t i = 0; i < tops.size(); ++i)
    if (std::abs(tops[i] - top) > 1 || std::abs(bottoms[i] - bottom) > 1) return false;
  return cap <= 0 || (bottom - top) * 20 >= cap * 17;
}

int cap_height(const std::vector<const Glyph*>& glyphs) {
  int tallest = 0;
  for (const Glyph* g : glyphs) tallest = std::max(tallest, g->box.height());
  std::vector<int> heights;
  for (const Glyph* g : glyphs)
    if (g->box.height() * 10 >= tallest * 6) heights.push_back(g->box.height());
  if (heights.empty()) return 0;
  std::nth_element(heights.begin(), heights.begin() + static_cast<std::ptrdiff_t>(heights.size() / 2), heights.end());
  return heights[heights.size() / 2];
}

}  // namespace visrl::reward::pixel
