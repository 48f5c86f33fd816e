// Pixel primitives of the pixel critic: colours, masks, resampling, connected components and
// the names of image regions. Internal to reward/pixel (namespace pixel).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "render/render_types.h"

namespace visrl::reward::pixel {

struct Colour {
  int r = 0;
  int g = 0;
  int b = 0;
  bool operator==(const Colour&) const = default;
};

// L-infinity distance: the largest channel difference (0..255).
inline int colour_distance(Colour a, Colour b) {
  const int dr = a.r > b.r ? a.r - b.r : b.r - a.r;
  const int dg = a.g > b.g ? a.g - b.g : b.g - a.g;
  const int db = a.b > b.b ? a.b - b.b : b.b - a.b;
  return dr > dg ? (dr > db ? dr : db) : (dg > db ? dg : db);
}
// max - min channel: 0 for greys, high for saturated colours.
inline int chroma(Colour c) {
  const int hi = c.r > c.g ? (c.r > c.b ? c.r : c.b) : (c.g > c.b ? c.g : c.b);
  const int lo = c.r < c.g ? (c.r < c.b ? c.r : c.b) : (c.g < c.b ? c.g : c.b);
  return hi - lo;
}
// "#1f77b4".
std::string hex(Colour c);

inline Colour pixel_at(const render::RgbImage& image, int x, int y) {
  const uint8_t* p = &image.rgb[(static_cast<size_t>(y) * image.width + x) * 3];
  return {p[0], p[1], p[2]};
}

// Inclusive pixel rectangle; empty while x1 < x0.
struct Box {
  int x0 = 0;
  int y0 = 0;
  int x1 = -1;
  int y1 = -1;

  bool empty() const { return x1 < x0 || y1 < y0; }
  int width() const { return empty() ? 0 : x1 - x0 + 1; }
  int height() const { return empty() ? 0 : y1 - y0 + 1; }
  void add(int x, int y);
  void add(const Box& other);
};

// A binary image (0 / 1), row-major.
struct Mask {
  int width = 0;
  int height = 0;
  std::vector<uint8_t> bits;

  Mask() = default;
  Mask(int w, int h) : width(w), height(h), bits(static_cast<size_t>(w) * h, 0) {}
  uint8_t at(int x, int y) const { return bits[static_cast<size_t>(y) * width + x]; }
  uint8_t& at(int x, int y) { return bits[static_cast<size_t>(y) * width + x]; }
  int64_t count() const;
  Box box() const;
};

// The most frequent colour of the one-pixel border (quantised to 4 bits per channel, then the
// mean of the border pixels in that bin): the page an image is drawn on.
Colour background_colour(const render::RgbImage& image);

// Pixels farther than `threshold` (L-infinity) from `background`.
Mask foreground_mask(const render::RgbImage& image, Colour background, int threshold);

// Area-averaging resample to exactly width x height (aspect not kept): each output pixel is
// the mean of the source area it covers, so shrinking antialiases and growing replicates.
render::RgbImage resize_image(const render::RgbImage& image, int width, int height);

// The image moved by (dx, dy); uncovered pixels take `fill`.
render::RgbImage translate_image(const render::RgbImage& image, int dx, int dy, Colour fill);

// Square dilation by `radius` (a pixel is set when any pixel within the square is set).
Mask dilate(const Mask& mask, int radius);

// Connected components (8-connected) of pixels that share a class; class < 0 is background.
struct Component {
  int cls = -1;
  int64_t area = 0;
  Box box;
};
struct Components {
  int width = 0;
  int height = 0;
  std::vector<int32_t> label;  // per pixel, -1 for class < 0
  std::vector<Component> items;
  int32_t at(int x, int y) const { return label[static_cast<size_t>(y) * width + x]; }
};
Components label_components(int width, int height, const std::vector<int32_t>& classes);
Components label_components(const Mask& mask);

// A named region of a width x height image for a box: "top left" ... "bottom right" of a
// 3 x 3 grid, "top edge" / "bottom edge" / "left edge" / "right edge" for boxes that run
// along most of a border, "whole image" for boxes that cover most of the image.
std::string region_name(const Box& box, int width, int height);

// 1, 2 or 3: below `medium` -> 1, below `severe` -> 2, else 3.
int severity_of(double magnitude, double medium, double severe);

// "12.3%" with one decimal.
std::string percent(double fraction);

}  // namespace visrl::reward::pixel
