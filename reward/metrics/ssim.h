// Structural similarity of a render and its reference image.
#pragma once

#include "render/render_types.h"

namespace visrl::reward {

// Mean SSIM (Wang et al. 2004) of the luma (luma.h: BT.601, 0..255, unrounded) of two
// images, with the settings of scikit-image's structural_similarity(gaussian_weights=True,
// sigma=1.5, use_sample_covariance=False, data_range=255): an 11x11 gaussian window
// (sigma 1.5, truncated at 3.5 sigma, borders reflected as scipy's mode "reflect"),
// K1 0.01, K2 0.03, population covariance, mean over the map without its 5-pixel border.
// When the sizes differ, `pred` is first resized to `ref`'s size with Pillow's BILINEAR
// (luma.h: antialiased when shrinking). Images under 11 px on a side, which scikit-image
// refuses, average the whole map. In [-1, 1], 1 for equal luma. An empty image gives 0; a
// buffer that does not match its size throws visrl::Error.
double ssim(const render::RgbImage& pred, const render::RgbImage& ref);

}  // namespace visrl::reward
