#include "reward/pixel/pixel_image.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdlib>

#include <fmt/format.h>

namespace visrl::reward::pixel {

std::string hex(Colour c) {
  return fmt::format("#{:02x}{:02x}{:02x}", c.r, c.g, c.b);
}

void Box::add(int x, int y) {
  if (empty()) {
    x0 = x1 = x;
    y0 = y1 = y;
    return;
  }
  x0 = std::min(x0, x);
  x1 = std::max(x1, x);
  y0 = std::min(y0, y);
  y1 = std::max(y1, y);
}

void Box::add(const Box& other) {
  if (other.empty()) return;
  add(other.x0, other.y0);
  add(other.x1, other.y1);
}

int64_t Mask::count() const {
  int64_t n = 0;
  for (uint8_t b : bits) n += b;
  return n;
}

Box Mask::box() const {
  Box box;
  for (int y = 0; y < height; ++y)
    for (int x = 0; x < width; ++x)
      if (at(x, y)) box.add(x, y);
  return box;
}

Colour background_colour(const render::RgbImage& image) {
  if (image.empty()) return {255, 255, 255};
  std::vector<int> counts(4096, 0);
  std::vector<std::array<int64_t, 3>> sums(4096, {0, 0, 0});
  auto visit = [&](int x, int y) {
    const Colour c = pixel_at(image, x, y);
    const int bin = ((c.r >> 4) << 8) | ((c.g >> 4) << 4) | (c.b >> 4);
    ++counts[bin];
    sums[bin][0] += c.r;
    sums[bin][1] += c.g;
    sums[bin][2] += c.b;
  };
  for (int x = 0; x < image.width; ++x) {
    visit(x, 0);
    if (image.height > 1) visit(x, image.height - 1);
  }
  for (int y = 1; y + 1 < image.height; ++y) {
    visit(0, y);
    if (image.width > 1) visit(image.width - 1, y);
  }
  const int best = static_cast<int>(std::max_element(counts.begin(), counts.end()) - counts.begin());
  const int n = counts[best];
  return {static_cast<int>(sums[best][0] / n), static_cast<int>(sums[best][1] / n),
          static_cast<int>(sums[best][2] / n)};
}

Mask foreground_mask(const render::RgbImage& image, Colour background, int threshold) {
  Mask mask(image.width, image.height);
  const size_t n = static_cast<size_t>(image.width) * image.height;
  const uint8_t* p = image.rgb.data();
  for (size_t i = 0; i < n; ++i, p += 3) {
    const int d =
        std::max(std::max(std::abs(p[0] - background.r), std::abs(p[1] - background.g)), std::abs(p[2] - background.b));
    mask.bits[i] = d > threshold;
  }
  return mask;
}

namespace {

// Source spans of each output pixel along one axis, with coverage weights summing to 1.
struct Span {
  int first = 0;
  std::vector<double> weights;
};

std::vector<Span> spans(int src, int dst) {
  std::vector<Span> out(dst);
  const double scale = static_cast<double>(src) / dst;
  for (int o = 0; o < dst; ++o) {
    const double lo = o * scale, hi = (o + 1) * scale;
    const int begin = std::clamp(static_cast<int>(std::floor(lo)), 0, src - 1);
    const int end = std::clamp(static_cast<int>(std::ceil(hi)), begin + 1, src);
    out[o].first = begin;
    double total = 0;
    for (int i = begin; i < end; ++i) {
      const double w = std::max(0.0, std::min<double>(i + 1, hi) - std::max<double>(i, lo));
      out[o].weights.push_back(w);
      total += w;
    }
    if (total <= 0) {
      out[o].weights.assign(out[o].weights.size(), 0.0);
      out[o].weights[0] = 1.0;
    } else {
      for (double& w : out[o].weights) w /= total;
    }
  }
  return out;
}

}  // namespace

render::RgbImage resize_image(const render::RgbImage& image, int width, int height) {
  if (image.width == width && image.height == height) return image;
  render::RgbImage out;
  out.width = width;
  out.height = height;
  out.rgb.assign(static_cast<size_t>(width) * height * 3, 255);
  if (image.empty() || width <= 0 || height <= 0) return out;
  const std::vector<Span> sx = spans(image.width, width);
  const std::vector<Span> sy = spans(image.height, height);
  std::vector<double> rows(static_cast<size_t>(image.height) * width * 3, 0.0);
  for (int y = 0; y < image.height; ++y) {
    for (int o = 0; o < width; ++o) {
      double* dst = &rows[(static_cast<size_t>(y) * width + o) * 3];
      for (size_t k = 0; k < sx[o].weights.size(); ++k) {
        const uint8_t* p = &image.rgb[(static_cast<size_t>(y) * image.width + sx[o].first + k) * 3];
        for (int c = 0; c < 3; ++c) dst[c] += sx[o].weights[k] * p[c];
      }
    }
  }
  for (int o = 0; o < height; ++o) {
    for (int x = 0; x < width * 3; ++x) {
      double acc = 0;
      for (size_t k = 0; k < sy[o].weights.size(); ++k)
        acc += sy[o].weights[k] * rows[(static_cast<size_t>(sy[o].first) + k) * width * 3 + x];
      out.rgb[static_cast<size_t>(o) * width * 3 + x] = static_cast<uint8_t>(std::clamp(std::lround(acc), 0L, 255L));
    }
  }
  return out;
}

render::RgbImage translate_image(const render::RgbImage& image, int dx, int dy, Colour fill) {
  render::RgbImage out = image;
  for (int y = 0; y < image.height; ++y) {
    for (int x = 0; x < image.width; ++x) {
      const int sx = x - dx, sy = y - dy;
      uint8_t* d = &out.rgb[(static_cast<size_t>(y) * image.width + x) * 3];
      if (sx < 0 || sy < 0 || sx >= image.width || sy >= image.height) {
        d[0] = static_cast<uint8_t>(fill.r);
        d[1] = static_cast<uint8_t>(fill.g);
        d[2] = static_cast<uint8_t>(fill.b);
      } else {
        const uint8_t* s = &image.rgb[(static_cast<size_t>(sy) * image.width + sx) * 3];
        std::copy(s, s + 3, d);
      }
    }
  }
  return out;
}

Mask dilate(const Mask& mask, int radius) {
  if (radius <= 0) return mask;
  Mask out(mask.width, mask.height);
  const Box set = mask.box();
  if (set.empty()) return out;
  // Only the box of the set pixels, grown by the radius, can change. Separable: a running
  // count of set pixels in the window along rows, then along columns.
  const int x0 = std::max(0, set.x0 - radius), x1 = std::min(mask.width - 1, set.x1 + radius);
  const int y0 = std::max(0, set.y0 - radius), y1 = std::min(mask.height - 1, set.y1 + radius);
  const int w = x1 - x0 + 1, h = y1 - y0 + 1;
  std::vector<uint8_t> rows(static_cast<size_t>(w) * h, 0);
  for (int y = 0; y < h; ++y) {
    const uint8_t* src = &mask.bits[static_cast<size_t>(y + y0) * mask.width + x0];
    uint8_t* dst = &rows[static_cast<size_t>(y) * w];
    int count = 0;
    for (int x = 0; x < std::min(radius, w); ++x) count += src[x];
    for (int x = 0; x < w; ++x) {
      if (x + radius < w) count += src[x + radius];
      if (x - radius - 1 >= 0) count -= src[x - radius - 1];
      dst[x] = count > 0;
    }
  }
  for (int x = 0; x < w; ++x) {
    int count = 0;
    for (int y = 0; y < std::min(radius, h); ++y) count += rows[static_cast<size_t>(y) * w + x];
    for (int y = 0; y < h; ++y) {
      if (y + radius < h) count += rows[static_cast<size_t>(y + radius) * w + x];
      if (y - radius - 1 >= 0) count -= rows[static_cast<size_t>(y - radius - 1) * w + x];
      out.bits[static_cast<size_t>(y + y0) * mask.width + x + x0] = count > 0;
    }
  }
  return out;
}

Components label_components(int width, int height, const std::vector<int32_t>& classes) {
  // Runs of one class per row, joined with union-find to the runs of the row above that touch
  // them (8-connected: overlapping or diagonal); then one label per root.
  struct Run {
    int y, x0, x1;
    int32_t cls;
  };
  std::vector<Run> runs;
  std::vector<size_t> row_start(static_cast<size_t>(height) + 1, 0);
  for (int y = 0; y < height; ++y) {
    row_start[static_cast<size_t>(y)] = runs.size();
    const int32_t* row = &classes[static_cast<size_t>(y) * width];
    for (int x = 0; x < width;) {
      if (row[x] < 0) {
        ++x;
        continue;
      }
      int end = x;
      while (end + 1 < width && row[end + 1] == row[x]) ++end;
      runs.push_back({y, x, end, row[x]});
      x = end + 1;
    }
  }
  row_start[static_cast<size_t>(height)] = runs.size();
  std::vector<size_t> parent(runs.size());
  for (size_t i = 0; i < parent.size(); ++i) parent[i] = i;
  auto find = [&](size_t i) {
    while (parent[i] != i) i = parent[i] = parent[parent[i]];
    return i;
  };
  for (int y = 1; y < height; ++y) {
    size_t above = row_start[static_cast<size_t>(y) - 1];
    const size_t above_end = row_start[static_cast<size_t>(y)];
    for (size_t i = row_start[static_cast<size_t>(y)]; i < row_start[static_cast<size_t>(y) + 1]; ++i) {
      const Run& r = runs[i];
      while (above < above_end && runs[above].x1 < r.x0 - 1) ++above;
      for (size_t j = above; j < above_end && runs[j].x0 <= r.x1 + 1; ++j) {
        if (runs[j].cls != r.cls) continue;
        const size_t a = find(i), b = find(j);
        if (a != b) parent[std::max(a, b)] = std::min(a, b);
      }
    }
  }
  Components out;
  out.width = width;
  out.height = height;
  out.label.assign(static_cast<size_t>(width) * height, -1);
  std::vector<int32_t> id_of(runs.size(), -1);
  for (size_t i = 0; i < runs.size(); ++i) {
    const size_t root = find(i);
    if (id_of[root] < 0) {
      id_of[root] = static_cast<int32_t>(out.items.size());
      out.items.push_back({runs[i].cls, 0, {}});
    }
    const int32_t id = id_of[root];
    const Run& r = runs[i];
    Component& c = out.items[static_cast<size_t>(id)];
    c.area += r.x1 - r.x0 + 1;
    c.box.add(r.x0, r.y);
    c.box.add(r.x1, r.y);
    std::fill_n(&out.label[static_cast<size_t>(r.y) * width + r.x0], r.x1 - r.x0 + 1, id);
  }
  return out;
}

Components label_components(const Mask& mask) {
  std::vector<int32_t> classes(mask.bits.size());
  for (size_t i = 0; i < classes.size(); ++i) classes[i] = mask.bits[i] ? 0 : -1;
  return label_components(mask.width, mask.height, classes);
}

std::string region_name(const Box& box, int width, int height) {
  if (box.empty() || width <= 0 || height <= 0) return "whole image";
  const bool wide = box.width() * 3 >= width * 2;
  const bool tall = box.height() * 3 >= height * 2;
  if (wide && tall) return "whole image";
  const double cx = (box.x0 + box.x1 + 1) / 2.0 / width;
  const double cy = (box.y0 + box.y1 + 1) / 2.0 / height;
  const int col = cx < 1.0 / 3 ? 0 : (cx < 2.0 / 3 ? 1 : 2);
  const int row = cy < 1.0 / 3 ? 0 : (cy < 2.0 / 3 ? 1 : 2);
  if (wide) return row == 0 ? "top edge" : (row == 2 ? "bottom edge" : "middle band");
  if (tall) return col == 0 ? "left edge" : (col == 2 ? "right edge" : "central column");
  static const char* const kNames[3][3] = {
      {"top left", "top", "top right"}, {"left", "centre", "right"}, {"bottom left", "bottom", "bottom right"}};
  return kNames[row][col];
}

int severity_of(double magnitude, double medium, double severe) {
  if (magnitude >= severe) return 3;
  if (magnitude >= medium) return 2;
  return 1;
}

std::string percent(double fraction) {
  return fmt::format("{:.1f}%", 100.0 * fraction);
}

}  // namespace visrl::reward::pixel
