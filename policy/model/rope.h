// Rotary position embeddings of Qwen3-VL, as pure tensor functions.
//  - text: interleaved MRoPE. Frequency j of the head_dim/2 frequencies rotates by the H
//    position when j % 3 == 1 and j < 3 * sections[1], by W when j % 3 == 2 and
//    j < 3 * sections[2], and by T otherwise.
//  - vision: 2-D RoPE; the first half of the rotated dims follow the patch row, the second
//    half the patch column.
#pragma once

#include <utility>
#include <vector>

#include <ATen/ATen.h>

namespace visrl::policy {

struct CosSin {
  at::Tensor cos, sin;
};

// inv_freq[j] = 1 / theta^(2j / dim), j < dim / 2: [dim / 2] float32.
at::Tensor rope_inv_freq(int64_t dim, double theta, const at::Device& device);

// position_ids [3, B, T] int64 -> cos, sin [B, T, head_dim] in `dtype` (computed in float32).
CosSin text_rope(const at::Tensor& position_ids, const at::Tensor& inv_freq, const std::vector<int64_t>& mrope_section,
                 at::ScalarType dtype);

// rows, cols [N] int64 patch coordinates -> cos, sin [N, head_dim] float32.
// inv_freq has head_dim / 4 entries (rope_inv_freq(head_dim / 2, theta)).
CosSin vision_rope(const at::Tensor& rows, const at::Tensor& cols, const at::Tensor& inv_freq);

// x * cos + rotate_half(x) * sin, with cos/sin broadcast against x's last dim.
at::Tensor apply_rope(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin);

}  // namespace visrl::policy
