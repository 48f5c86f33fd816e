#include "policy/generate/logprobs.h"

#include <algorithm>

#include <ATen/autocast_mode.h>
#include <c10/core/impl/LocalDispatchKeySet.h>
#include <torch/csrc/autograd/custom_function.h>

#include "core/error.h"
#include "policy/generate/positions.h"

namespace visrl::policy {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// The dtype the head's matmul runs in: autocast's (bf16 for a float32 policy on CUDA) when
// autocast is on for the device, as at::linear would run under it; else the inputs' dtype.
at::ScalarType head_compute_dtype(const at::Tensor& h, const at::Tensor& weight) {
  const auto device_type = h.device().type();
  const bool narrow_inputs = h.scalar_type() != at::kDouble && weight.scalar_type() != at::kDouble;
  if (narrow_inputs && at::autocast::is_autocast_available(device_type) &&
      at::autocast::is_autocast_enabled(device_type)) {
    return at::autocast::get_autocast_dtype(device_type);
  }
  return at::promote_types(h.scalar_type(), weight.scalar_type());
}

// log_softmax(h_c W^T / temperature) [n, V] in out_dtype, h_c and w already in the compute dtype.
at::Tensor chunk_log_softmax(const at::Tensor& h_c, const at::Tensor& w, at::ScalarType out_dtype, double temperature) {
  c10::impl::ExcludeDispatchKeyGuard no_autocast(c10::autocast_dispatch_keyset);  // the dtypes are explicit
  auto z = at::mm(h_c, w.t()).to(out_dtype);                                      // [n, V]
  if (temperature != 1.0) z.div_(temperature);
  return z.log_softmax(-1);
}

// Token log-probs and entropies [N] of every row, `chunk` rows at a time (no autograd).
std::pair<at::Tensor, at::Tensor> chunked_values(const at::Tensor& h, const at::Tensor& weight,
                                                 const at::Tensor& targets, double temperature, int64_t chunk,
                                                 at::ScalarType compute) {
  const auto out_dtype = at::promote_types(compute, at::kFloat);
  const auto hc = h.to(compute), wc = weight.to(compute);
  const int64_t N = h.size(0);
  auto token_logp = at::empty({N}, h.options().dtype(out_dtype));
  auto entropy = at::empty({N}, h.options().dtype(out_dtype));
  for (int64_t start = 0; start < N; start += chunk) {
    const int64_t n = std::min(chunk, N - start);
    auto logp = chunk_log_softmax(hc.narrow(0, start, n), wc, out_dtype, temperature);  // [n, V]
    token_logp.narrow(0, start, n).copy_(logp.gather(1, targets.narrow(0, start, n).unsqueeze(1)).squeeze(1));
    entropy.narrow(0, start, n).copy_(logp.exp().mul_(logp).sum(-1).neg_());
  }
  return {token_logp, entropy};
}

// The chunked head as one autograd node: it saves h and the weight, never the logits, and its
// backward recomputes each chunk's log-softmax and applies the analytic gradients w.r.t. the
// scaled logits z = lm_head(h) / temperature:
//   d log p(target) / dz = onehot(target) - p,   d H / dz = -p (log p + H).
struct ChunkedLogprobHead : public torch::autograd::Function<ChunkedLogprobHead> {
  static variable_list forward(AutogradContext* ctx, const at::Tensor& h, const at::Tensor& weight,
                               const at::Tensor& targets, double temperature, int64_t chunk) {
    const auto compute = head_compute_dtype(h, weight);
    auto [token_logp, entropy] = chunked_values(h, weight, targets, temperature, chunk, compute);
    ctx->save_for_backward({h, weight, targets});
    ctx->saved_data["temperature"] = temperature;
    ctx->saved_data["chunk"] = chunk;
    ctx->saved_data["compute"] = static_cast<int64_t>(compute);
    ctx->set_materialize_grads(false);
    return {token_logp, entropy};
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const auto &h = saved[0], &weight = saved[1], &targets = saved[2];
    const double temperature = ctx->saved_data["temperature"].toDouble();
    const int64_t chunk = ctx->saved_data["chunk"].toInt();
    const auto compute = static_cast<at::ScalarType>(ctx->saved_data["compute"].toInt());
    const auto out_dtype = at::promote_types(compute, at::kFloat);
    const auto acc_dtype = at::promote_types(weight.scalar_type(), at::kFloat);
    const bool need_h = ctx->needs_input_grad(0), need_w = ctx->needs_input_grad(1);
    const auto g_logp = grads[0].defined() ? grads[0].to(out_dtype) : at::Tensor();  // [N]
    const auto g_ent = grads[1].defined() ? grads[1].to(out_dtype) : at::Tensor();   // [N]
    at::Tensor grad_h, grad_w;
    if ((need_h || need_w) && (g_logp.defined() || g_ent.defined())) {
      at::NoGradGuard no_grad;
      c10::impl::ExcludeDispatchKeyGuard no_autocast(c10::autocast_dispatch_keyset);
      const auto hc = h.to(compute), wc = weight.to(compute);
      const int64_t N = h.size(0);
      if (need_h) grad_h = at::empty_like(h);
      if (need_w) grad_w = at::zeros(weight.sizes(), weight.options().dtype(acc_dtype));
      for (int64_t start = 0; start < N; start += chunk) {
        const int64_t n = std::min(chunk, N - start);
        const auto h_c = hc.narrow(0, start, n);
        auto logp = chunk_log_softmax(h_c, wc, out_dtype, temperature);  // [n, V]
        const auto p = logp.exp();
        // dz = -p * (g_logp + g_ent * (log p + H)) + g_logp * onehot, built in logp's storage.
        auto& dz = logp;
        if (g_ent.defined()) {
          const auto H = (p * logp).sum(-1, /*keepdim=*/true).neg_();  // [n, 1]
          dz.add_(H).mul_(g_ent.narrow(0, start, n).unsqueeze(1));
          if (g_logp.defined()) dz.add_(g_logp.narrow(0, start, n).unsqueeze(1));
        } else {
          dz.copy_(g_logp.narrow(0, start, n).unsqueeze(1).expand_as(dz));
        }
        dz.mul_(p).neg_();
        if (g_logp.defined()) {
          dz.scatter_add_(1, targets.narrow(0, start, n).unsqueeze(1), g_logp.narrow(0, start, n).unsqueeze(1));
        }
        if (temperature != 1.0) dz.div_(temperature);
        const auto dz_c = dz.to(compute);
        if (need_h) grad_h.narrow(0, start, n).copy_(at::mm(dz_c, wc));
        if (need_w) {
          if (compute == acc_dtype) {
            grad_w.addmm_(dz_c.t(), h_c);
          } else {
            grad_w.add_(at::mm(dz_c.t(), h_c));
          }
        }
      }
      if (need_w) grad_w = grad_w.to(weight.scalar_type());
    }
    return {grad_h, grad_w, at::Tensor(), at::Tensor(), at::Tensor()};
  }
};

}  // namespace

TokenLogprobs lm_head_logprobs(const at::Tensor& h, const at::Tensor& weight, const at::Tensor& targets,
                               double temperature, int64_t chunk_tokens) {
  if (!(temperature > 0)) fail(ErrorKind::config, "lm_head_logprobs: temperature must be > 0, got {}", temperature);
  if (chunk_tokens < 0) fail(ErrorKind::config, "lm_head_logprobs: chunk_tokens must be >= 0, got {}", chunk_tokens);
  if (chunk_tokens == 0) {
    // All positions at once through plain autograd: [N, V] logits, log-softmax and exp live
    // (and are saved for backward) together.
    auto logits = at::linear(h, weight);  // [N, V]
    logits = logits.to(at::promote_types(logits.scalar_type(), at::kFloat));
    if (temperature != 1.0) logits = logits / temperature;
    auto logp = logits.log_softmax(-1);
    return {logp.gather(1, targets.unsqueeze(1)).squeeze(1), -(logp.exp() * logp).sum(-1)};
  }
  if (at::GradMode::is_enabled() && (h.requires_grad() || weight.requires_grad())) {
    auto out = ChunkedLogprobHead::apply(h, weight, targets, temperature, chunk_tokens);
    return {out[0], out[1]};
  }
  auto [token_logp, entropy] =
      chunked_values(h, weight, targets, temperature, chunk_tokens, head_compute_dtype(h, weight));
  return {token_logp, entropy};
}

TokenLogprobs forward_logprobs(Qwen3VLImpl& model, const LogprobBatch& batch, double temperature,
                               int64_t chunk_tokens) {
  const auto& ids = batch.input_ids;
  if (ids.dim() != 2 || ids.size(1) < 2) {
    fail(ErrorKind::runtime, "forward_logprobs: input_ids must be [batch, tokens >= 2], got {}", c10::str(ids.sizes()));
  }
  if (!(temperature > 0)) fail(ErrorKind::config, "forward_logprobs: temperature must be > 0, got {}", temperature);
  if (chunk_tokens < 0) fail(ErrorKind::config, "forward_logprobs: chunk_tokens must be >= 0, got {}", chunk_tokens);
  const auto device = model.device();
  const int64_t B = ids.size(0), T = ids.size(1), H = model.config.text.hidden_size;
  auto ids_cpu = ids.to(at::kCPU, at::kLong);
  auto valid =
      batch.attention_mask.defined() ? batch.attention_mask.to(at::kCPU).to(at::kBool) : at::ones({B, T}, at::kBool);
  if (valid.sizes() != ids.sizes()) {
    fail(ErrorKind::runtime, "forward_logprobs: attention_mask {} does not match input_ids {}", c10::str(valid.sizes()),
         c10::str(ids.sizes()));
  }
  auto positions = batch_positions(model.config, ids_cpu, valid, batch.image_grid_thw);

  AttentionContext ctx;
  ctx.mask = padded_causal_mask(valid);
  if (ctx.mask.defined()) ctx.mask = ctx.mask.to(device);
  ModelInputs inputs{ids_cpu.to(device), positions.position_ids.to(device),
                     batch.pixel_values.defined() ? batch.pixel_values.to(device) : at::Tensor(), batch.image_grid_thw};
  auto hidden = model.hidden_states(inputs, ctx);  // [B, T, H]

  auto score = batch.score_mask.defined() ? batch.score_mask.to(at::kCPU).to(at::kBool)
                                          : valid.narrow(1, 1, T - 1) & valid.narrow(1, 0, T - 1);
  if (score.sizes() != at::IntArrayRef({B, T - 1})) {
    fail(ErrorKind::runtime, "forward_logprobs: score_mask must be [{}, {}], got {}", B, T - 1,
         c10::str(score.sizes()));
  }
  auto rows = score.reshape(-1).nonzero().squeeze(1);  // [N] indices into [B * (T-1)]
  auto targets = ids_cpu.narrow(1, 1, T - 1).reshape(-1).index_select(0, rows).to(device);  // [N]
  rows = rows.to(device);
  auto h = hidden.narrow(1, 0, T - 1).reshape({B * (T - 1), H}).index_select(0, rows);  // [N, H]
  // float32 at least (bf16 logits lose the log-softmax); a float64 model keeps float64.
  auto [token_logp, entropy] = lm_head_logprobs(h, model.lm_head_weight(), targets, temperature, chunk_tokens);  // [N]
  auto zeros = at::zeros({B * (T - 1)}, token_logp.options());
  return {zeros.index_copy(0, rows, token_logp).view({B, T - 1}), zeros.index_copy(0, rows, entropy).view({B, T - 1})};
}

}  // namespace visrl::policy
