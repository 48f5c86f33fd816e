// What the pixel critic knows about one image (background, foreground, palette, elements) and
// where two images of the same size differ beyond antialiasing. Internal to reward/pixel.
#pragma once

#include <vector>

#include "render/render_types.h"
#include "reward/pixel/pixel_critic.h"
#include "reward/pixel/pixel_image.h"

namespace visrl::reward::pixel {

struct ImageAnalysis {
  Colour background;
  Mask foreground;
  // Solid colours of the foreground; every foreground pixel is assigned the palette colour
  // that best explains it as a mix with the background, so antialiased edges belong to
  // their element instead of forming colour fringes.
  std::vector<Colour> palette;
  std::vector<int32_t> colour_index;  // per pixel: palette index, -1 for background
  // Elements: 8-connected components of one palette colour.
  Components elements;
  std::vector<uint8_t> glyph_like;  // per element: small, dark, grey (text strokes)
  int glyph_max_px = 0;

  Colour colour_at(int x, int y) const {
    return palette[static_cast<size_t>(colour_index[static_cast<size_t>(y) * foreground.width + x])];
  }
};

// Background and foreground only (cheap); describe_elements adds the palette and elements.
ImageAnalysis analyse_image(const render::RgbImage& image, const PixelCriticOptions& options);
void describe_elements(const render::RgbImage& image, const PixelCriticOptions& options, ImageAnalysis& analysis);

// Pixels where `a` and `b` (same size) differ beyond antialiasing: raw difference above
// diff_threshold, at least one of them foreground, and outside the 3x3 neighbourhood envelope
// of the other image in either direction; components below min_diff_pixels dropped.
Mask difference_mask(const render::RgbImage& a, const Mask& foreground_a, const render::RgbImage& b,
                     const Mask& foreground_b, const PixelCriticOptions& options);

}  // namespace visrl::reward::pixel
