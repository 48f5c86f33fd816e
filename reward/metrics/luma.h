// Grey-level planes for SSIM: luma of an RGB image and its resize.
#pragma once

#include <vector>

#include "render/render_types.h"

namespace visrl::reward {

struct LumaImage {
  int width = 0;
  int height = 0;
  std::vector<double> y;  // row-major, height * width values in 0..255
};

// ITU-R BT.601 luma Y = 0.299 R + 0.587 G + 0.114 B, unrounded. `what` names the image in
// the visrl::Error thrown when its buffer does not hold width * height * 3 bytes.
LumaImage to_luma(const render::RgbImage& image, const char* what);

// `image` resized as Pillow resizes a mode "F" image with Image.BILINEAR: per axis, a
// triangle filter centred on each output pixel's centre, its support widened by the scale
// factor when shrinking (so shrinking averages, like an area filter); horizontal pass first,
// each pass accumulating in double and storing float32, as Pillow does. An axis whose size
// does not change is not filtered. width and height must be positive.
LumaImage resize_bilinear(const LumaImage& image, int width, int height);

}  // namespace visrl::reward
