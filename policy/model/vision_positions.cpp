#include "policy/model/vision_positions.h"

#include "core/error.h"

namespace visrl::policy {

VisionPositions vision_positions(const at::Tensor& grid_thw, int64_t side, int64_t merge, const at::Device& device) {
  if (grid_thw.dim() != 2 || grid_thw.size(1) != 3) {
    fail(ErrorKind::runtime, "image_grid_thw: expected shape [images, 3], got {}", c10::str(grid_thw.sizes()));
  }
  auto grid = grid_thw.to(at::kCPU, at::kLong).contiguous();
  const int64_t* g = grid.data_ptr<int64_t>();
  std::vector<int64_t> rows, cols, sizes_h, sizes_w, frames;
  for (int64_t i = 0; i < grid.size(0); ++i) {
    const int64_t t = g[3 * i], h = g[3 * i + 1], w = g[3 * i + 2];
    if (t <= 0 || h <= 0 || w <= 0 || h % merge != 0 || w % merge != 0) {
      fail(ErrorKind::runtime, "image_grid_thw[{}] = ({}, {}, {}): h and w must be positive multiples of {}", i, t, h,
           w, merge);
    }
    for (int64_t f = 0; f < t; ++f) {
      frames.push_back(h * w);
      // Patch k of a frame is (block_row, block_col, in_row, in_col) in row-major order.
      for (int64_t k = 0; k < h * w; ++k) {
        const int64_t in_col = k % merge, in_row = (k / merge) % merge;
        const int64_t block_col = (k / (merge * merge)) % (w / merge), block_row = k / (merge * merge * (w / merge));
        rows.push_back(block_row * merge + in_row);
        cols.push_back(block_col * merge + in_col);
        sizes_h.push_back(h);
        sizes_w.push_back(w);
      }
    }
  }
  auto as_tensor = [](const std::vector<int64_t>& v) { return at::tensor(v, at::kLong); };
  auto row_t = as_tensor(rows), col_t = as_tensor(cols);

  // Per axis: the two taps and weights of F.interpolate(bilinear, align_corners=True) from
  // `side` table rows to `size` grid rows, in the same float32 arithmetic as transformers.
  auto taps = [side](const at::Tensor& index, const at::Tensor& size) {
    auto src = index.to(at::kFloat) * static_cast<double>(side - 1) / at::clamp_min(size - 1, 1);
    auto floor = at::floor(src);
    auto offsets = at::arange(0, 2, at::kLong);                            // [2]
    auto tap = (floor.to(at::kLong).unsqueeze(1) + offsets).clamp(0, side - 1);  // [N, 2]
    auto distance = (src.unsqueeze(1) - floor.unsqueeze(1) - offsets).abs();
    return std::pair{tap, (1 - distance).clamp_min(0)};
  };
  auto [h_tap, h_weight] = taps(row_t, as_tensor(sizes_h));
  auto [w_tap, w_weight] = taps(col_t, as_tensor(sizes_w));
  auto index = (h_tap.unsqueeze(2) * side + w_tap.unsqueeze(1)).reshape({-1, 4});
  auto weight = (h_weight.unsqueeze(2) * w_weight.unsqueeze(1)).reshape({-1, 4});
  return {row_t.to(device), col_t.to(device), index.to(device), weight.to(device), frames};
}

}  // namespace visrl::policy
