#include "policy/model/rope.h"

namespace visrl::policy {

at::Tensor rope_inv_freq(int64_t dim, double theta, const at::Device& device) {
  // Same float32 expression as transformers: 1 / (theta ** (arange(0, dim, 2) / dim)).
  auto exponent = at::arange(0, dim, 2, at::TensorOptions().dtype(at::kLong)).to(at::kFloat) / static_cast<double>(dim);
  return (1.0 / at::pow(theta, exponent)).to(device);
}

CosSin text_rope(const at::Tensor& position_ids, const at::Tensor& inv_freq, const std::vector<int64_t>& mrope_section,
                 at::ScalarType dtype) {
  const int64_t half = inv_freq.size(0);
  // axis[j] in {0: T, 1: H, 2: W} for every frequency j.
  std::vector<int64_t> axis(half, 0);
  for (int64_t j = 0; j < half; ++j) {
    if (j % 3 == 1 && j < 3 * mrope_section[1]) axis[j] = 1;
    if (j % 3 == 2 && j < 3 * mrope_section[2]) axis[j] = 2;
  }
  auto axis_t = at::tensor(axis, at::kLong).to(position_ids.device());
  auto pos = position_ids.to(at::kFloat);                     // [3, B, T]
  auto chosen = pos.index_select(0, axis_t).permute({1, 2, 0});  // [B, T, half]: the position each frequency uses
  auto freqs = chosen * inv_freq;                             // [B, T, half]
  auto emb = at::cat({freqs, freqs}, -1);                     // [B, T, head_dim]
  return {emb.cos().to(dtype), emb.sin().to(dtype)};
}

CosSin vision_rope(const at::Tensor& rows, const at::Tensor& cols, const at::Tensor& inv_freq) {
  auto fh = rows.to(at::kFloat).unsqueeze(-1) * inv_freq;  // [N, hd/4]
  auto fw = cols.to(at::kFloat).unsqueeze(-1) * inv_freq;  // [N, hd/4]
  auto cos_hw = at::cat({fh.cos(), fw.cos()}, -1);         // [N, hd/2]
  auto sin_hw = at::cat({fh.sin(), fw.sin()}, -1);
  return {at::cat({cos_hw, cos_hw}, -1), at::cat({sin_hw, sin_hw}, -1)};  // [N, hd]
}

at::Tensor apply_rope(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin) {
  const int64_t half = x.size(-1) / 2;
  auto x1 = x.narrow(-1, 0, half);
  auto x2 = x.narrow(-1, half, half);
  auto rotated = at::cat({-x2, x1}, -1);
  return x * cos + rotated * sin;
}

}  // namespace visrl::policy
