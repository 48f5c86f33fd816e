// MRoPE position ids of a (padded) batch for a given model: policy/image/mrope.h with the
// model's vision token ids.
#pragma once

#include <ATen/ATen.h>

#include "policy/image/mrope.h"
#include "policy/model/qwen3vl_config.h"

namespace visrl::policy {

// input_ids [B, T]; valid [B, T] bool (true = token, padding on either side);
// image_grid_thw [images, 3] or undefined.
MropePositions batch_positions(const Qwen3VLConfig& config, const at::Tensor& input_ids, const at::Tensor& valid,
                               const at::Tensor& image_grid_thw);

}  // namespace visrl::policy
