// Where every vision patch sits: its (row, col) on the patch grid in the order the image
// processor emits patches (2x2 merge blocks, raster order of blocks), the bilinear taps into
// the learned square position table, and the attention segments (one per frame).
#pragma once

#include <vector>

#include <ATen/ATen.h>

namespace visrl::policy {

struct VisionPositions {
  at::Tensor rows, cols;       // [N] int64, N = sum of t*h*w over images
  at::Tensor interp_index;     // [N, 4] int64 into the flattened side x side table
  at::Tensor interp_weight;    // [N, 4] float32, bilinear with align_corners = true
  std::vector<int64_t> frame_lengths;  // h*w per frame, in order: the attention segments
};

// grid_thw [images, 3] int64 (t, h, w on the patch grid); side = sqrt(num_position_embeddings).
// Throws visrl::Error when h or w is not a multiple of merge.
VisionPositions vision_positions(const at::Tensor& grid_thw, int64_t side, int64_t merge, const at::Device& device);

}  // namespace visrl::policy
