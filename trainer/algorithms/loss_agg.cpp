#include "trainer/algorithms/loss_agg.h"

namespace visrl::trainer {

at::Tensor aggregate_loss(const at::Tensor& loss, const at::Tensor& mask, LossAgg mode, const AggOptions& options) {
  TORCH_CHECK(loss.dim() == 2 && loss.sizes() == mask.sizes(), "loss and mask must be [B, T]");
  const at::Tensor m = mask.to(loss.scalar_type());
  // where, not a product: a padding position may hold inf or NaN and must count as 0.
  const at::Tensor masked = at::where(mask.to(at::kBool), loss, at::zeros_like(loss));
  const double sequences = std::max(options.global_sequences.value_or(static_cast<double>(loss.size(0))), 1.0);
  switch (mode) {
    case LossAgg::token_mean: {
      if (options.global_tokens) return masked.sum() / std::max(*options.global_tokens, 1.0);
      return masked.sum() / m.sum().clamp_min(1.0);
    }
    case LossAgg::seq_mean_token_sum:
      return masked.sum(-1).sum() / sequences;
    case LossAgg::seq_mean_token_mean:
      return (masked.sum(-1) / m.sum(-1).clamp_min(1.0)).sum() / sequences;
    case LossAgg::seq_mean_token_sum_norm:
      return masked.sum() / (sequences * options.norm_constant);
  }
  return masked.sum();
}

}  // namespace visrl::trainer
