// Image operations the critics share (no LibTorch).
#pragma once

#include <cstdint>

#include "render/render_types.h"

namespace visrl::reward {

// The image shrunk so that its longer side is at most `max_side` (aspect kept, each side
// at least 1 px), by averaging the source pixels each output pixel covers (antialiased,
// like PIL's reduce/box filter). Images already small enough come back unchanged.
render::RgbImage downscale_to_max_side(const render::RgbImage& image, int64_t max_side);

}  // namespace visrl::reward
