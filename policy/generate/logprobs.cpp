#include "policy/generate/logprobs.h"

#include "core/error.h"
#include "policy/generate/positions.h"

namespace visrl::policy {

TokenLogprobs forward_logprobs(Qwen3VLImpl& model, const LogprobBatch& batch, double temperature) {
  const auto& ids = batch.input_ids;
  if (ids.dim() != 2 || ids.size(1) < 2) {
    fail(ErrorKind::runtime, "forward_logprobs: input_ids must be [batch, tokens >= 2], got {}", c10::str(ids.sizes()));
  }
  if (!(temperature > 0)) fail(ErrorKind::config, "forward_logprobs: temperature must be > 0, got {}", temperature);
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
  auto logits = model.logits(h);  // [N, V]
  logits = logits.to(at::promote_types(logits.scalar_type(), at::kFloat));
  if (temperature != 1.0) logits = logits / temperature;
  auto logp = logits.log_softmax(-1);
  auto token_logp = logp.gather(1, targets.unsqueeze(1)).squeeze(1);  // [N]
  auto entropy = -(logp.exp() * logp).sum(-1);                        // [N]
  auto zeros = at::zeros({B * (T - 1)}, logits.options());
  return {zeros.index_copy(0, rows, token_logp).view({B, T - 1}), zeros.index_copy(0, rows, entropy).view({B, T - 1})};
}

}  // namespace visrl::policy
