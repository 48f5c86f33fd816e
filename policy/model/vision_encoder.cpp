#include "policy/model/vision_encoder.h"

#include <cmath>

#include <fmt/format.h>

#include "core/error.h"
#include "policy/model/rope.h"
#include "policy/model/vision_positions.h"

namespace visrl::policy {
namespace nn = torch::nn;

namespace {
nn::LayerNorm layer_norm(int64_t dim) {
  return nn::LayerNorm(nn::LayerNormOptions({dim}).eps(1e-6));
}
}  // namespace

VisionMlpImpl::VisionMlpImpl(int64_t hidden, int64_t intermediate) {
  linear_fc1 = register_module("linear_fc1", Linear(hidden, intermediate));
  linear_fc2 = register_module("linear_fc2", Linear(intermediate, hidden));
}

at::Tensor VisionMlpImpl::forward(const at::Tensor& x) {
  return linear_fc2(at::gelu(linear_fc1(x), "tanh"));
}

VisionAttentionImpl::VisionAttentionImpl(int64_t hidden, int64_t heads) : num_heads(heads) {
  qkv = register_module("qkv", Linear(hidden, 3 * hidden));
  proj = register_module("proj", Linear(hidden, hidden));
}

at::Tensor VisionAttentionImpl::forward(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin,
                                        const std::vector<int64_t>& frame_lengths) {
  const int64_t n = x.size(0);
  auto parts = qkv(x).view({n, 3, num_heads, -1}).permute({1, 0, 2, 3}).unbind(0);  // 3 x [N, heads, hd]
  // RoPE in float32, as transformers does, then back to the activation dtype.
  auto c = cos.unsqueeze(1), s = sin.unsqueeze(1);                                         // [N, 1, hd]
  auto q = apply_rope(parts[0].to(at::kFloat), c, s).to(x.scalar_type()).transpose(0, 1);  // [heads, N, hd]
  auto k = apply_rope(parts[1].to(at::kFloat), c, s).to(x.scalar_type()).transpose(0, 1);
  auto v = parts[2].transpose(0, 1);
  at::Tensor out;
  if (frame_lengths.size() == 1) {
    out = at::scaled_dot_product_attention(q.unsqueeze(0), k.unsqueeze(0), v.unsqueeze(0)).squeeze(0);
  } else {
    // Full attention inside each frame, none across: one SDPA per frame.
    std::vector<at::Tensor> outs;
    int64_t start = 0;
    for (int64_t len : frame_lengths) {
      auto sl = [&](const at::Tensor& t) { return t.narrow(1, start, len).unsqueeze(0); };
      outs.push_back(at::scaled_dot_product_attention(sl(q), sl(k), sl(v)).squeeze(0));
      start += len;
    }
    out = at::cat(outs, 1);  // [heads, N, hd]
  }
  return proj(out.transpose(0, 1).reshape({n, -1}));
}

VisionBlockImpl::VisionBlockImpl(const VisionConfig& config) {
  norm1 = register_module("norm1", layer_norm(config.hidden_size));
  norm2 = register_module("norm2", layer_norm(config.hidden_size));
  attn = register_module("attn", VisionAttention(config.hidden_size, config.num_heads));
  mlp = register_module("mlp", VisionMlp(config.hidden_size, config.intermediate_size));
}

at::Tensor VisionBlockImpl::forward(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin,
                                    const std::vector<int64_t>& frame_lengths) {
  auto h = x + attn(norm1(x), cos, sin, frame_lengths);
  return h + mlp(norm2(h));
}

PatchMergerImpl::PatchMergerImpl(const VisionConfig& config, bool norm_after)
    : norm_after_grouping(norm_after), merged_dim(config.merged_dim()) {
  norm = register_module("norm", layer_norm(norm_after ? merged_dim : config.hidden_size));
  linear_fc1 = register_module("linear_fc1", Linear(merged_dim, merged_dim));
  linear_fc2 = register_module("linear_fc2", Linear(merged_dim, config.out_hidden_size));
}

at::Tensor PatchMergerImpl::forward(const at::Tensor& x) {
  // Patches arrive in merge-block order, so 4 consecutive rows are one 2x2 block.
  auto grouped = norm_after_grouping ? norm(x.view({-1, merged_dim})) : norm(x).view({-1, merged_dim});
  return linear_fc2(at::gelu(linear_fc1(grouped)));
}

VisionEncoderImpl::VisionEncoderImpl(const VisionConfig& c) : config(c) {
  auto patch = register_module("patch_embed", std::make_shared<nn::Module>());
  patch_proj_weight = at::empty({c.hidden_size, c.in_channels, c.temporal_patch_size, c.patch_size, c.patch_size});
  patch_proj_bias = at::empty({c.hidden_size});
  auto proj = patch->register_module("proj", std::make_shared<nn::Module>());
  patch_proj_weight = proj->register_parameter("weight", patch_proj_weight);
  patch_proj_bias = proj->register_parameter("bias", patch_proj_bias);
  pos_embed = register_module("pos_embed", Embedding(c.num_position_embeddings, c.hidden_size));
  blocks = register_module("blocks", nn::ModuleList());
  for (int64_t i = 0; i < c.depth; ++i) blocks->push_back(VisionBlock(c));
  merger = register_module("merger", PatchMerger(c, false));
  deepstack_merger_list = register_module("deepstack_merger_list", nn::ModuleList());
  for (size_t i = 0; i < c.deepstack_visual_indexes.size(); ++i) deepstack_merger_list->push_back(PatchMerger(c, true));
}

VisionFeatures VisionEncoderImpl::forward(const at::Tensor& pixel_values, const at::Tensor& grid_thw) {
  const auto dtype = patch_proj_weight.scalar_type();
  const auto device = patch_proj_weight.device();
  if (pixel_values.dim() != 2 || pixel_values.size(1) != config.patch_dim()) {
    fail(ErrorKind::runtime, "pixel_values: expected [patches, {}], got {}", config.patch_dim(),
         c10::str(pixel_values.sizes()));
  }
  const int64_t side =
      static_cast<int64_t>(std::lround(std::sqrt(static_cast<double>(config.num_position_embeddings))));
  auto pos = vision_positions(grid_thw, side, config.spatial_merge_size, device);
  if (pos.rows.size(0) != pixel_values.size(0)) {
    fail(ErrorKind::runtime, "pixel_values has {} patches but image_grid_thw describes {}", pixel_values.size(0),
         pos.rows.size(0));
  }
  // Conv3d with stride = kernel over one patch each = a linear map of the flattened patch.
  auto x = at::linear(pixel_values.to(device, dtype), patch_proj_weight.view({config.hidden_size, -1}),
                      patch_proj_bias);  // [N, Hv]
  auto table = pos_embed->weight.index_select(0, pos.interp_index.view(-1)).view({-1, 4, config.hidden_size});
  x = x + (table * pos.interp_weight.unsqueeze(-1)).sum(1).to(dtype);  // bilinear mix of 4 table rows

  auto inv_freq = rope_inv_freq(config.head_dim() / 2, config.rope_theta, device);
  auto [cos, sin] = vision_rope(pos.rows, pos.cols, inv_freq);  // [N, hd] float32

  VisionFeatures out;
  const auto& ds = config.deepstack_visual_indexes;
  for (int64_t layer = 0; layer < config.depth; ++layer) {
    x = blocks->ptr<VisionBlockImpl>(layer)->forward(x, cos, sin, pos.frame_lengths);
    for (size_t j = 0; j < ds.size(); ++j) {
      if (ds[j] == layer) out.deepstack.push_back(deepstack_merger_list->ptr<PatchMergerImpl>(j)->forward(x));
    }
  }
  out.embeds = merger(x);
  return out;
}

}  // namespace visrl::policy
