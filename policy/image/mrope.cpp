// Qwen3-VL MRoPE position ids, following transformers 5.23's get_rope_index: per row, the
// unpadded tokens are split into runs of text and runs of image tokens; each image run takes
// the next grid of image_grid_thw (shared cursor over the batch, row-major).
#include <algorithm>
#include <array>
#include <vector>

#include "core/error.h"
#include "policy/image/mrope.h"

namespace visrl::policy {
namespace {

void check_ids(const at::Tensor& input_ids, const at::Tensor& attention_mask) {
  if (!input_ids.defined() || input_ids.dim() != 2 || !at::isIntegralType(input_ids.scalar_type(), false)) {
    fail(ErrorKind::runtime, "mrope_position_ids: input_ids must be an integer tensor [B, T]");
  }
  if (attention_mask.defined() && attention_mask.sizes() != input_ids.sizes()) {
    fail(ErrorKind::runtime, "mrope_position_ids: attention_mask has shape [{}], input_ids [{}]",
         fmt::join(attention_mask.sizes(), ", "), fmt::join(input_ids.sizes(), ", "));
  }
}

std::vector<std::array<int64_t, 3>> read_grids(const at::Tensor& image_grid_thw, int64_t merge) {
  std::vector<std::array<int64_t, 3>> grids;
  if (!image_grid_thw.defined() || image_grid_thw.numel() == 0) return grids;
  if (image_grid_thw.dim() != 2 || image_grid_thw.size(1) != 3) {
    fail(ErrorKind::runtime, "mrope_position_ids: image_grid_thw must be [N, 3], got [{}]",
         fmt::join(image_grid_thw.sizes(), ", "));
  }
  const at::Tensor g = image_grid_thw.to(at::kCPU, at::kLong).contiguous();  // [N, 3]
  const int64_t* p = g.data_ptr<int64_t>();
  for (int64_t i = 0; i < g.size(0); ++i) {
    const std::array<int64_t, 3> thw{p[i * 3], p[i * 3 + 1], p[i * 3 + 2]};
    if (thw[0] <= 0 || thw[1] <= 0 || thw[2] <= 0 || thw[1] % merge != 0 || thw[2] % merge != 0) {
      fail(ErrorKind::runtime,
           "mrope_position_ids: image {} has grid ({}, {}, {}); h and w must be positive multiples of {}", i, thw[0],
           thw[1], thw[2], merge);
    }
    grids.push_back(thw);
  }
  return grids;
}

}  // namespace

MropePositions mrope_position_ids(const at::Tensor& input_ids, const at::Tensor& attention_mask,
                                  const at::Tensor& image_grid_thw, const MropeTokens& tokens) {
  check_ids(input_ids, attention_mask);
  const int64_t m = tokens.spatial_merge_size;
  if (m <= 0) fail(ErrorKind::config, "mrope_position_ids: spatial_merge_size must be > 0, got {}", m);
  const auto grids = read_grids(image_grid_thw, m);
  const int64_t batch = input_ids.size(0);
  const int64_t length = input_ids.size(1);
  const at::Tensor ids = input_ids.to(at::kCPU, at::kLong).contiguous();  // [B, T]
  const at::Tensor mask = attention_mask.defined() ? attention_mask.to(at::kCPU).ne(0).contiguous() : at::Tensor();
  at::Tensor positions = at::zeros({3, batch, length}, at::kLong);  // [3, B, T]
  at::Tensor deltas = at::empty({batch}, at::kLong);                // [B]
  const int64_t* id = ids.data_ptr<int64_t>();
  const bool* keep = mask.defined() ? mask.data_ptr<bool>() : nullptr;
  int64_t* pos = positions.data_ptr<int64_t>();
  const int64_t plane = batch * length;  // stride of the axis dimension
  size_t next_grid = 0;

  for (int64_t b = 0; b < batch; ++b) {
    std::vector<int64_t> cols;  // the unpadded columns of row b
    for (int64_t t = 0; t < length; ++t) {
      if (keep != nullptr && !keep[b * length + t]) continue;
      if (id[b * length + t] == tokens.video_token_id) {
        fail(ErrorKind::runtime, "mrope_position_ids: row {} column {}: video tokens are not supported", b, t);
      }
      cols.push_back(t);
    }
    if (cols.empty()) fail(ErrorKind::runtime, "mrope_position_ids: row {} has no unpadded token", b);
    int64_t current = 0;
    int64_t max_pos = 0;
    for (size_t i = 0; i < cols.size();) {
      const bool image = id[b * length + cols[i]] == tokens.image_token_id;
      size_t end = i;
      while (end < cols.size() && (id[b * length + cols[end]] == tokens.image_token_id) == image) ++end;
      const int64_t run = static_cast<int64_t>(end - i);
      if (!image) {  // text: consecutive positions, the same on the three axes
        for (int64_t k = 0; k < run; ++k) {
          for (int64_t a = 0; a < 3; ++a) pos[a * plane + b * length + cols[i + k]] = current + k;
        }
        current += run;
      } else {
        if (next_grid >= grids.size()) {
          fail(ErrorKind::runtime,
               "mrope_position_ids: row {}: image block at column {} is image {} but image_grid_thw has {} grid(s)", b,
               cols[i], next_grid, grids.size());
        }
        const auto& thw = grids[next_grid];
        const int64_t gh = thw[1] / m;
        const int64_t gw = thw[2] / m;
        if (run != thw[0] * gh * gw) {
          fail(ErrorKind::runtime,
               "mrope_position_ids: row {}: image block at column {} has {} image tokens but image {} has grid ({}, "
               "{}, {}) = {} tokens",
               b, cols[i], run, next_grid, thw[0], thw[1], thw[2], thw[0] * gh * gw);
        }
        int64_t k = 0;
        for (int64_t ti = 0; ti < thw[0]; ++ti) {
          for (int64_t hi = 0; hi < gh; ++hi) {
            for (int64_t wi = 0; wi < gw; ++wi, ++k) {
              const int64_t col = cols[i + k];
              pos[0 * plane + b * length + col] = current + ti;
              pos[1 * plane + b * length + col] = current + hi;
              pos[2 * plane + b * length + col] = current + wi;
            }
          }
        }
        max_pos = std::max(max_pos, current + std::max({thw[0] - 1, gh - 1, gw - 1}));
        current += std::max(thw[1], thw[2]) / m;
        ++next_grid;
      }
      max_pos = std::max(max_pos, current - 1);
      i = end;
    }
    deltas[b] = max_pos + 1 - static_cast<int64_t>(cols.size());
  }
  if (next_grid != grids.size()) {
    fail(ErrorKind::runtime, "mrope_position_ids: image_grid_thw has {} grid(s) but input_ids hold {} image block(s)",
         grids.size(), next_grid);
  }
  return {positions.to(input_ids.device()), deltas.to(input_ids.device())};
}

at::Tensor decode_position_ids(const at::Tensor& rope_deltas, int64_t start, int64_t count) {
  if (!rope_deltas.defined() || rope_deltas.dim() != 1) {
    fail(ErrorKind::runtime, "decode_position_ids: rope_deltas must be [B]");
  }
  if (start < 0 || count < 0) fail(ErrorKind::runtime, "decode_position_ids: start {} / count {} < 0", start, count);
  const at::Tensor steps = at::arange(start, start + count, rope_deltas.options().dtype(at::kLong));  // [count]
  const at::Tensor pos = steps.view({1, -1}) + rope_deltas.to(at::kLong).view({-1, 1});               // [B, count]
  return pos.unsqueeze(0).expand({3, -1, -1}).contiguous();                                           // [3, B, count]
}

}  // namespace visrl::policy
