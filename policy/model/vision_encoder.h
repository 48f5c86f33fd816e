// The Qwen3-VL vision encoder: patch embedding, interpolated learned position table, 2-D
// RoPE, pre-LayerNorm transformer blocks with full attention inside each image frame, the
// 2x2 patch merger to the text width, and the DeepStack mergers. Parameter names follow
// transformers (`model.visual.*`), so named_parameters() is the checkpoint layout.
#pragma once

#include <vector>

#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/normalization.h>

#include "policy/model/linear.h"
#include "policy/model/qwen3vl_config.h"

namespace visrl::policy {

class VisionMlpImpl : public torch::nn::Module {
 public:
  VisionMlpImpl(int64_t hidden, int64_t intermediate);
  at::Tensor forward(const at::Tensor& x);  // [N, Hv] -> [N, Hv]

  Linear linear_fc1{nullptr}, linear_fc2{nullptr};
};
TORCH_MODULE(VisionMlp);

class VisionAttentionImpl : public torch::nn::Module {
 public:
  VisionAttentionImpl(int64_t hidden, int64_t num_heads);
  // x [N, Hv]; cos/sin [N, hd] float32; attention stays inside each of `frame_lengths`.
  at::Tensor forward(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin,
                     const std::vector<int64_t>& frame_lengths);

  Linear qkv{nullptr}, proj{nullptr};  // qkv: [3 Hv, Hv], rows q | k | v
  int64_t num_heads;
};
TORCH_MODULE(VisionAttention);

class VisionBlockImpl : public torch::nn::Module {
 public:
  explicit VisionBlockImpl(const VisionConfig& config);
  at::Tensor forward(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin,
                     const std::vector<int64_t>& frame_lengths);

  torch::nn::LayerNorm norm1{nullptr}, norm2{nullptr};
  VisionAttention attn{nullptr};
  VisionMlp mlp{nullptr};
};
TORCH_MODULE(VisionBlock);

// LayerNorm -> group 2x2 patches -> fc1 -> GELU (erf) -> fc2. The main merger normalises each
// patch (Hv) before grouping; DeepStack mergers normalise the group (4 Hv) after it.
class PatchMergerImpl : public torch::nn::Module {
 public:
  PatchMergerImpl(const VisionConfig& config, bool norm_after_grouping);
  at::Tensor forward(const at::Tensor& x);  // [N, Hv] -> [N / 4, out_hidden]

  torch::nn::LayerNorm norm{nullptr};
  Linear linear_fc1{nullptr}, linear_fc2{nullptr};
  bool norm_after_grouping;
  int64_t merged_dim;
};
TORCH_MODULE(PatchMerger);

struct VisionFeatures {
  at::Tensor embeds;                  // [tokens, text hidden]: one row per <|image_pad|>
  std::vector<at::Tensor> deepstack;  // one [tokens, text hidden] per DeepStack level
};

class VisionEncoderImpl : public torch::nn::Module {
 public:
  explicit VisionEncoderImpl(const VisionConfig& config);
  // pixel_values [N, C*T*P*P] (any float dtype; cast to the weights'); grid_thw [images, 3].
  VisionFeatures forward(const at::Tensor& pixel_values, const at::Tensor& grid_thw);

  VisionConfig config;
  at::Tensor patch_proj_weight;  // "patch_embed.proj.weight" [Hv, C, T, P, P] (a Conv3d whose stride = kernel)
  at::Tensor patch_proj_bias;    // "patch_embed.proj.bias" [Hv]
  Embedding pos_embed{nullptr};  // [side^2, Hv]
  torch::nn::ModuleList blocks{nullptr};
  PatchMerger merger{nullptr};
  torch::nn::ModuleList deepstack_merger_list{nullptr};
};
TORCH_MODULE(VisionEncoder);

}  // namespace visrl::policy
