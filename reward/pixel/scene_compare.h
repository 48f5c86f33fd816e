// Charts, SVG drawings and tables without a ruled grid: differences read as blobs. Internal.
#pragma once

#include <vector>

#include "reward/critic.h"
#include "reward/pixel/pixel_critic.h"

namespace visrl::reward::pixel {

// `reference` and `rendered` have the same size and neither is blank. Reports, in order: a
// different background, a global shift (then undone; one-pixel offsets are undone silently),
// chart mark colours that lost or gained most of their area, then per blob of differing
// pixels: vanished, added, moved or resized elements, changed text, changed colours.
std::vector<CriticError> compare_scene(Task task, const render::RgbImage& reference, const render::RgbImage& rendered,
                                       const PixelCriticOptions& options);

}  // namespace visrl::reward::pixel
