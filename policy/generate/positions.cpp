#include "policy/generate/positions.h"

namespace visrl::policy {

MropePositions batch_positions(const Qwen3VLConfig& config, const at::Tensor& input_ids, const at::Tensor& valid,
                               const at::Tensor& image_grid_thw) {
  const MropeTokens tokens{config.image_token_id, config.video_token_id, config.vision_start_token_id,
                           config.vision.spatial_merge_size};
  return mrope_position_ids(input_ids, valid, image_grid_thw, tokens);
}

}  // namespace visrl::policy
