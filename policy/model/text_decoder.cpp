#include "policy/model/text_decoder.h"

#include <cmath>

#include "core/error.h"
#include "policy/model/batch_invariant.h"
#include "policy/model/layer_checkpoint.h"
#include "policy/model/slot_attention.h"

namespace visrl::policy {
namespace nn = torch::nn;

namespace {
Linear linear(int64_t in, int64_t out) {
  return Linear(in, out, /*bias=*/false);
}

// Decode-step attention over a prompt shared by a group plus each sample's own tokens.
// SDPA cannot attend to a prefix shared across batch rows without copying it G times, so
// the group's queries are folded into one matrix per KV head: every prompt key is read once
// per group, not once per sample. q [R, H, 1, D] with R = B*G; returns [R, 1, H*D].
at::Tensor shared_prefix_attention(const at::Tensor& q, const LayerKV& kv, const at::Tensor& prompt_bias,
                                   int64_t own_length, double scale) {
  const int64_t R = q.size(0), H = q.size(1), D = q.size(3);
  const int64_t B = kv.prompt_k.size(0), KVH = kv.prompt_k.size(1), P = kv.prompt_k.size(2);
  const int64_t G = R / B, rep = H / KVH, L = own_length;
  auto qg = q.view({B, G, KVH, rep, D});
  auto q_folded = qg.permute({0, 2, 1, 3, 4}).reshape({B, KVH, G * rep, D});
  auto prompt_scores = at::matmul(q_folded, kv.prompt_k.transpose(-1, -2)) * scale + prompt_bias;  // [B, KVH, G*rep, P]
  auto own_k = kv.gen_k.narrow(2, 0, L).view({B, G, KVH, L, D});
  auto own_v = kv.gen_v.narrow(2, 0, L).view({B, G, KVH, L, D});
  auto own_scores = at::matmul(qg, own_k.transpose(-1, -2)) * scale;  // [B, G, KVH, rep, L]
  auto scores = at::cat({prompt_scores.view({B, KVH, G, rep, P}).permute({0, 2, 1, 3, 4}), own_scores}, -1);
  auto probs = at::softmax(scores, -1, at::kFloat).to(q.scalar_type());  // [B, G, KVH, rep, P + L]
  auto prompt_probs = probs.narrow(-1, 0, P).permute({0, 2, 1, 3, 4}).reshape({B, KVH, G * rep, P});
  auto out = at::matmul(prompt_probs, kv.prompt_v).view({B, KVH, G, rep, D}).permute({0, 2, 1, 3, 4}) +
             at::matmul(probs.narrow(-1, P, L), own_v);  // [B, G, KVH, rep, D]
  return out.reshape({R, 1, H * D});
}
}  // namespace

at::Tensor padded_causal_mask(const at::Tensor& valid) {
  auto pad_before_token = (valid.logical_not().to(at::kInt).cumsum(1) > 0) & valid;
  if (!pad_before_token.any().item<bool>()) return {};
  const int64_t B = valid.size(0), T = valid.size(1);
  auto causal = at::ones({T, T}, valid.options().dtype(at::kBool)).tril();
  return (causal & valid.view({B, 1, 1, T})) | at::eye(T, valid.options().dtype(at::kBool));
}

RMSNormImpl::RMSNormImpl(int64_t dim, double eps_) : eps(eps_) {
  weight = register_parameter("weight", at::ones({dim}));
}

at::Tensor RMSNormImpl::forward(const at::Tensor& x) {
  if (batch_invariant() && x.numel() > 0) {
    // Blocks of rows, each normalised on one thread (batch_invariant.h).
    const int64_t H = x.size(-1);
    auto rows = x.reshape({-1, H});  // [M, H]
    auto out = at::empty_like(rows);
    const int64_t M = rows.size(0), blocks = (M + kInvariantRows - 1) / kInvariantRows;
    for_each_row(blocks, [&](int64_t b) {
      // Always a full block (zero rows after the last): a reduction over few short rows may be
      // vectorised across the rows instead of along them, so the shape must not vary.
      const int64_t r0 = b * kInvariantRows, n = std::min(kInvariantRows, M - r0);
      auto block = at::zeros({kInvariantRows, H}, rows.options());
      block.narrow(0, 0, n).copy_(rows.narrow(0, r0, n));
      BatchInvariantMode off(false);
      out.narrow(0, r0, n).copy_(forward(block).narrow(0, 0, n));
    });
    return out.view(x.sizes());
  }
  auto xf = x.to(at::kFloat);
  auto normed = xf * at::rsqrt(xf.pow(2).mean(-1, true) + eps);
  return weight * normed.to(x.scalar_type());
}

TextAttentionImpl::TextAttentionImpl(const TextConfig& c)
    : num_heads(c.num_attention_heads), num_kv_heads(c.num_key_value_heads), head_dim(c.head_dim) {
  q_proj = register_module("q_proj", linear(c.hidden_size, num_heads * head_dim));
  k_proj = register_module("k_proj", linear(c.hidden_size, num_kv_heads * head_dim));
  v_proj = register_module("v_proj", linear(c.hidden_size, num_kv_heads * head_dim));
  o_proj = register_module("o_proj", linear(num_heads * head_dim, c.hidden_size));
  q_norm = register_module("q_norm", RMSNorm(head_dim, c.rms_norm_eps));
  k_norm = register_module("k_norm", RMSNorm(head_dim, c.rms_norm_eps));
}

at::Tensor TextAttentionImpl::forward(const at::Tensor& x, const CosSin& rope, const AttentionContext& ctx,
                                      int64_t layer) {
  const int64_t B = x.size(0), T = x.size(1);
  auto cos = rope.cos.unsqueeze(1), sin = rope.sin.unsqueeze(1);                                       // [B, 1, T, D]
  auto q = apply_rope(q_norm(q_proj(x).view({B, T, num_heads, head_dim})).transpose(1, 2), cos, sin);  // [B, H, T, D]
  auto k =
      apply_rope(k_norm(k_proj(x).view({B, T, num_kv_heads, head_dim})).transpose(1, 2), cos, sin);  // [B, KVH, T, D]
  auto v = v_proj(x).view({B, T, num_kv_heads, head_dim}).transpose(1, 2);
  const double scale = 1.0 / std::sqrt(static_cast<double>(head_dim));
  if (ctx.mode == AttentionContext::Mode::slot_decode) {
    return o_proj(slot_decode_attention(q, k, v, ctx.slots->layers.at(layer), *ctx.slots, scale));
  }
  if (ctx.mode == AttentionContext::Mode::decode) {
    auto& kv = ctx.cache->layers.at(layer);
    const int64_t at_pos = ctx.cache->length;
    if (at_pos >= ctx.cache->capacity) {  // the engine grows the cache (KVCache::reserve) before each step
      fail(ErrorKind::runtime, "decode: KV cache position {} is beyond its capacity of {}", at_pos,
           ctx.cache->capacity);
    }
    kv.gen_k.narrow(2, at_pos, 1).copy_(k);
    kv.gen_v.narrow(2, at_pos, 1).copy_(v);
    return o_proj(shared_prefix_attention(q, kv, ctx.cache->prompt_bias, at_pos + 1, scale));
  }
  if (ctx.mode == AttentionContext::Mode::prefill) {
    auto& kv = ctx.cache->layers.at(layer);
    kv.prompt_k = k.contiguous();
    kv.prompt_v = v.contiguous();
  }
  at::Tensor out;
  if (ctx.mask.defined()) {
    out = at::scaled_dot_product_attention(q, k, v, ctx.mask, 0.0, false, scale, /*enable_gqa=*/true);
  } else {
    out = at::scaled_dot_product_attention(q, k, v, {}, 0.0, /*is_causal=*/true, scale, /*enable_gqa=*/true);
  }
  return o_proj(out.transpose(1, 2).reshape({B, T, num_heads * head_dim}));
}

TextMlpImpl::TextMlpImpl(int64_t hidden, int64_t intermediate) {
  gate_proj = register_module("gate_proj", linear(hidden, intermediate));
  up_proj = register_module("up_proj", linear(hidden, intermediate));
  down_proj = register_module("down_proj", linear(intermediate, hidden));
}

at::Tensor TextMlpImpl::forward(const at::Tensor& x) {
  auto gate = gate_proj(x), up = up_proj(x);  // [.., I]
  if (!batch_invariant()) return down_proj(at::silu(gate) * up);
  // silu is vectorised over the whole tensor, and its vector and scalar paths round
  // differently: one row at a time, so a row's lanes never depend on the rows around it.
  const int64_t I = gate.size(-1);
  auto g = gate.reshape({-1, I}), u = up.reshape({-1, I});
  auto act = at::empty_like(g);  // [M, I]
  for_each_row(g.size(0), [&](int64_t r) { act[r].copy_(at::silu(g[r]) * u[r]); });
  return down_proj(act.view(gate.sizes()));
}

DecoderLayerImpl::DecoderLayerImpl(const TextConfig& c) {
  self_attn = register_module("self_attn", TextAttention(c));
  mlp = register_module("mlp", TextMlp(c.hidden_size, c.intermediate_size));
  input_layernorm = register_module("input_layernorm", RMSNorm(c.hidden_size, c.rms_norm_eps));
  post_attention_layernorm = register_module("post_attention_layernorm", RMSNorm(c.hidden_size, c.rms_norm_eps));
}

at::Tensor DecoderLayerImpl::forward(const at::Tensor& x, const CosSin& rope, const AttentionContext& ctx,
                                     int64_t layer) {
  auto h = x + self_attn(input_layernorm(x), rope, ctx, layer);
  return h + mlp(post_attention_layernorm(h));
}

TextDecoderImpl::TextDecoderImpl(const TextConfig& c)
    : config(c), inv_freq(rope_inv_freq(c.head_dim, c.rope_theta, at::kCPU)) {
  embed_tokens = register_module("embed_tokens", Embedding(c.vocab_size, c.hidden_size));
  layers = register_module("layers", nn::ModuleList());
  for (int64_t i = 0; i < c.num_hidden_layers; ++i) layers->push_back(DecoderLayer(c));
  norm = register_module("norm", RMSNorm(c.hidden_size, c.rms_norm_eps));
}

at::Tensor TextDecoderImpl::forward(const at::Tensor& embeds, const at::Tensor& position_ids,
                                    const AttentionContext& ctx, const DeepStackInputs* deepstack) {
  if (inv_freq.device() != embeds.device()) inv_freq = inv_freq.to(embeds.device());
  auto rope = text_rope(position_ids, inv_freq, config.mrope_section, embeds.scalar_type());  // [B, T, D] each
  if (batch_invariant()) {
    // cos/sin are vectorised over the whole tensor, so a row's lanes (and whether it falls in the
    // scalar tail) depend on the rows before it: one row at a time instead.
    for_each_row(position_ids.size(1), [&](int64_t b) {
      auto row = text_rope(position_ids.narrow(1, b, 1), inv_freq, config.mrope_section, embeds.scalar_type());
      rope.cos.narrow(0, b, 1).copy_(row.cos);
      rope.sin.narrow(0, b, 1).copy_(row.sin);
    });
  }
  const int64_t B = embeds.size(0), T = embeds.size(1), H = embeds.size(2);
  auto h = embeds;
  // Checkpoint only where a backward will follow: a training forward over whole sequences.
  const bool checkpoint =
      gradient_checkpointing && ctx.mode == AttentionContext::Mode::full && at::GradMode::is_enabled();
  // A frozen embedding (a LoRA policy) gives an input without grad, and a checkpointed layer
  // only runs its backward for inputs that need one: the input becomes a leaf that does, as
  // transformers' enable_input_require_grads makes it, so the adapters inside get gradients.
  if (checkpoint && !h.requires_grad()) h = h.detach().requires_grad_(true);
  for (int64_t i = 0; i < config.num_hidden_layers; ++i) {
    auto* layer = layers->ptr<DecoderLayerImpl>(i).get();
    h = checkpoint ? checkpointed_layer(*layer, h, rope, ctx.mask, i) : layer->forward(h, rope, ctx, i);
    if (deepstack != nullptr && i < static_cast<int64_t>(deepstack->features.size())) {
      // index_add is out of place, so autograd sees the addition at the image positions.
      h = h.reshape({B * T, H})
              .index_add(0, deepstack->flat_index, deepstack->features[i].to(h.scalar_type()))
              .view({B, T, H});
    }
  }
  return norm(h);
}

}  // namespace visrl::policy
