#include "trainer/algorithms/rollout_correction.h"

namespace visrl::trainer {

at::Tensor rollout_is_weights(RolloutIs level, const at::Tensor& old_logp, const at::Tensor& rollout_logp,
                              const at::Tensor& mask, double threshold) {
  TORCH_CHECK(old_logp.dim() == 2 && old_logp.sizes() == rollout_logp.sizes() && old_logp.sizes() == mask.sizes(),
              "old_logp, rollout_logp and mask must all be [B, T]");
  const at::Tensor m = mask.to(old_logp.scalar_type());
  const at::Tensor log_ratio = at::where(mask.to(at::kBool), old_logp - rollout_logp, at::zeros_like(old_logp));
  at::Tensor w;
  switch (level) {
    case RolloutIs::off:
      return at::ones_like(old_logp);
    case RolloutIs::token:
      w = log_ratio.clamp(-20.0, 20.0).exp();  // [B, T]
      break;
    case RolloutIs::sequence:
      w = log_ratio.sum(-1, /*keepdim=*/true).clamp(-20.0, 20.0).exp().expand_as(old_logp);  // [B, T]
      break;
  }
  return (w * m).clamp_max(threshold).detach();
}

}  // namespace visrl::trainer
