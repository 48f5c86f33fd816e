// Qwen3-VL multimodal RoPE position ids (3 axes: temporal, height, width), as transformers
// 5.23's Qwen3VLModel.get_rope_index computes them for a prompt, and the positions of the
// tokens generated after it.
#pragma once

#include <cstdint>

#include <ATen/ATen.h>

namespace visrl::policy {

struct MropeTokens {
  int64_t image_token_id = 151655;         // <|image_pad|>
  int64_t video_token_id = 151656;         // <|video_pad|> (videos are not supported: an error)
  int64_t vision_start_token_id = 151652;  // <|vision_start|> (not needed by the 5.23 algorithm)
  int64_t spatial_merge_size = 2;
};

struct MropePositions {
  at::Tensor position_ids;  // [3, B, T] int64; padded positions hold 0
  at::Tensor rope_deltas;   // [B] int64: max position + 1 - number of unpadded tokens
};

// input_ids: [B, T] integer. attention_mask: [B, T] (0 = padding, anywhere) or undefined.
// image_grid_thw: [N, 3] integer, the images in order of appearance (row-major over the
// batch), or undefined / empty when there are none. Text takes consecutive positions on all
// three axes; a run of image tokens starting at position s gets (s + t, s + row, s + col) on
// the merged grid, and the text after it resumes at s + max(rows, cols).
// Throws visrl::Error naming the row when image tokens and grids do not match.
MropePositions mrope_position_ids(const at::Tensor& input_ids, const at::Tensor& attention_mask,
                                  const at::Tensor& image_grid_thw, const MropeTokens& tokens);

// [3, B, count] int64: start + i + rope_deltas[b] for i in [0, count). `start` counts the
// unpadded tokens before the first new one (its cache position when there is no padding).
// This is what HF generate feeds the model for the tokens it samples: the prompt's last
// position + 1, + 2, ... (for a left-padded row, pass start = that row's unpadded length).
at::Tensor decode_position_ids(const at::Tensor& rope_deltas, int64_t start, int64_t count);

}  // namespace visrl::policy
