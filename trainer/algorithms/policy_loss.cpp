#include "trainer/algorithms/policy_loss.h"

namespace visrl::trainer {

namespace {

void check_shapes(const at::Tensor& logp, const at::Tensor& old_logp, const at::Tensor& advantage,
                  const at::Tensor& mask) {
  TORCH_CHECK(logp.dim() == 2 && logp.sizes() == old_logp.sizes() && logp.sizes() == advantage.sizes() &&
                  logp.sizes() == mask.sizes(),
              "logp, old_logp, advantage and mask must all be [B, T]");
}

// The clipped surrogate of `ratio`, shared by PPO and GSPO.
PolicyLoss clipped_surrogate(const at::Tensor& ratio, const at::Tensor& advantage, const at::Tensor& mask,
                             const ClipConfig& clip, bool dual) {
  const at::Tensor valid = mask.to(at::kBool);
  const at::Tensor unclipped = -advantage * ratio;                                                 // [B, T]
  const at::Tensor clipped = -advantage * ratio.clamp(1.0 - clip.clip_low, 1.0 + clip.clip_high);  // [B, T]
  at::Tensor loss = at::maximum(unclipped, clipped);
  PolicyLoss out;
  out.clipped = (clipped > unclipped) & valid;
  out.dual_clipped = at::zeros_like(out.clipped);
  if (dual && clip.dual_clip_c > 0) {
    const at::Tensor cap = -advantage * clip.dual_clip_c;  // the loss of a ratio of c
    const at::Tensor negative = advantage < 0;
    out.dual_clipped = negative & (loss > cap) & valid;
    loss = at::where(negative, at::minimum(loss, cap), loss);
  }
  // where, not a product: padding may hold any value (even inf) and must give exactly 0.
  out.loss = at::where(valid, loss, at::zeros_like(loss));
  out.ratio = ratio.detach();
  return out;
}

}  // namespace

PolicyLoss ppo_clip_loss(const at::Tensor& logp, const at::Tensor& old_logp, const at::Tensor& advantage,
                         const at::Tensor& mask, const ClipConfig& clip) {
  check_shapes(logp, old_logp, advantage, mask);
  const at::Tensor ratio = (logp - old_logp).clamp(-20.0, 20.0).exp();  // [B, T]
  return clipped_surrogate(ratio, advantage, mask, clip, /*dual=*/true);
}

PolicyLoss gspo_loss(const at::Tensor& logp, const at::Tensor& old_logp, const at::Tensor& advantage,
                     const at::Tensor& mask, const ClipConfig& clip) {
  check_shapes(logp, old_logp, advantage, mask);
  const at::Tensor m = mask.to(logp.scalar_type());
  const at::Tensor lengths = m.sum(-1).clamp_min(1.0);                                   // [B]
  const at::Tensor log_s = (((logp - old_logp) * m).sum(-1) / lengths).unsqueeze(-1);    // [B, 1]
  const at::Tensor log_ratio = (logp - logp.detach() + log_s.detach()).clamp_max(10.0);  // [B, T]
  return clipped_surrogate(log_ratio.exp(), advantage, mask, clip, /*dual=*/false);
}

}  // namespace visrl::trainer
