// The Qwen3 text decoder of Qwen3-VL: RMSNorm, attention with per-head q/k RMSNorm, GQA and
// interleaved MRoPE, SwiGLU MLP, and DeepStack injection of vision features after the first
// layers. Parameter names follow transformers (`model.language_model.*`).
#pragma once

#include <vector>

#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>

#include "policy/model/kv_cache.h"
#include "policy/model/linear.h"
#include "policy/model/qwen3vl_config.h"
#include "policy/model/rope.h"
#include "policy/model/slot_kv_cache.h"

namespace visrl::policy {

class RMSNormImpl : public torch::nn::Module {
 public:
  RMSNormImpl(int64_t dim, double eps);
  at::Tensor forward(const at::Tensor& x);  // normalises the last dim in float32

  at::Tensor weight;  // [dim]
  double eps;
};
TORCH_MODULE(RMSNorm);

// How attention sees the sequence.
//  - full: causal attention over the given tokens (training, scoring, the prefill without cache).
//    `mask` [B, 1, T, T] bool (true = may attend) replaces the plain causal mask when the
//    batch is left-padded.
//  - prefill: as full, and the keys/values are stored as the prompt part of `cache`.
//  - decode: one new token per sample row; its key/value go to position cache->length of the
//    sample part, and it attends to its prompt (shared by its group) and its own tokens.
//  - slot_decode: the same for the continuous-batching cache: one token per active decode
//    slot, each at its own position (slot_attention.h).
struct AttentionContext {
  enum class Mode { full, prefill, decode, slot_decode };
  Mode mode = Mode::full;
  at::Tensor mask;
  KVCache* cache = nullptr;
  SlotKVCache* slots = nullptr;
};

// The `mask` of AttentionContext for a padded batch. valid [B, T] bool (true = token) ->
// [B, 1, T, T] bool: causal and not padding, each padding query attending to itself so that
// no row is all -inf (SDPA would return NaN there). Undefined when no padding precedes a
// token (right padding or none): the plain causal mask is then already right.
at::Tensor padded_causal_mask(const at::Tensor& valid);

class TextAttentionImpl : public torch::nn::Module {
 public:
  explicit TextAttentionImpl(const TextConfig& config);
  // x [B, T, H]; rope cos/sin [B, T, D]
  at::Tensor forward(const at::Tensor& x, const CosSin& rope, const AttentionContext& ctx, int64_t layer);

  Linear q_proj{nullptr}, k_proj{nullptr}, v_proj{nullptr}, o_proj{nullptr};
  RMSNorm q_norm{nullptr}, k_norm{nullptr};
  int64_t num_heads, num_kv_heads, head_dim;
};
TORCH_MODULE(TextAttention);

class TextMlpImpl : public torch::nn::Module {
 public:
  TextMlpImpl(int64_t hidden, int64_t intermediate);
  at::Tensor forward(const at::Tensor& x);  // down(silu(gate(x)) * up(x))

  Linear gate_proj{nullptr}, up_proj{nullptr}, down_proj{nullptr};
};
TORCH_MODULE(TextMlp);

class DecoderLayerImpl : public torch::nn::Module {
 public:
  explicit DecoderLayerImpl(const TextConfig& config);
  at::Tensor forward(const at::Tensor& x, const CosSin& rope, const AttentionContext& ctx, int64_t layer);

  TextAttention self_attn{nullptr};
  TextMlp mlp{nullptr};
  RMSNorm input_layernorm{nullptr}, post_attention_layernorm{nullptr};
};
TORCH_MODULE(DecoderLayer);

// Vision features added to the image-token positions after the first decoder layers.
struct DeepStackInputs {
  at::Tensor flat_index;             // [V] int64 positions in the flattened [B*T] sequence
  std::vector<at::Tensor> features;  // features[l]: [V, H], added after layer l
};

class TextDecoderImpl : public torch::nn::Module {
 public:
  explicit TextDecoderImpl(const TextConfig& config);
  // embeds [B, T, H]; position_ids [3, B, T] -> final-normed hidden states [B, T, H].
  at::Tensor forward(const at::Tensor& embeds, const at::Tensor& position_ids, const AttentionContext& ctx,
                     const DeepStackInputs* deepstack = nullptr);

  TextConfig config;
  // [head_dim / 2] float32, computed once; not a registered buffer, so casting the module to
  // bf16 cannot round it (the angles stay float32, as in transformers).
  at::Tensor inv_freq;
  Embedding embed_tokens{nullptr};  // [vocab, H]
  torch::nn::ModuleList layers{nullptr};
  RMSNorm norm{nullptr};
  // Recompute each layer's activations in the backward instead of keeping them
  // (layer_checkpoint.h); applies to training forwards only.
  bool gradient_checkpointing = false;
};
TORCH_MODULE(TextDecoder);

}  // namespace visrl::policy
