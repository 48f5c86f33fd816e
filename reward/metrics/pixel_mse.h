// Mean squared pixel error of a render against its reference (UniSVG's pixel MSE).
#pragma once

#include "render/render_types.h"

namespace visrl::reward {

// Mean over every pixel and RGB channel of ((pred - ref) / 255)^2: in [0, 1], 0 for equal
// images. When the sizes differ, each channel of `pred` is first resized to `ref`'s size as
// SSIM resizes luma (luma.h: Pillow's BILINEAR on float planes). An empty image gives 1 (the
// worst); a buffer that does not match its size throws visrl::Error.
double pixel_mse(const render::RgbImage& pred, const render::RgbImage& ref);

}  // namespace visrl::reward
