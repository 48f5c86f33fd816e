#include "trainer/algorithms/policy_loss.h"

namespace visrl::trainer {

namespace {

void check_shapes(const at::Tensor& logp, const at::Tensor& old_logp, const at::Tensor& advantage,
                  const at::Tensor& mask) {
  TORCH_CHECK(logp.dim() == 2 && logp.sizes() == old_logp.sizes() && logp.sizes() == advantage.sizes() &&
                  logp.sizes() == mask.sizes(),
              "logp, old_logp, advantage and mask must all be [B, T]");
}

// pi / pi_old per token, the log-ratio clamped to [-20, 20] before exp.   [B, T]
at::Tensor token_ratio(const at::Tensor& logp, const at::Tensor& old_logp) {
  return (logp - old_logp).clamp(-20.0, 20.0).exp();
}

// where, not a product: padding may hold any value (even inf) and must give exactly 0.
PolicyLoss finish(at::Tensor loss, const at::Tensor& ratio, const at::Tensor& mask, at::Tensor clipped = {},
                  at::Tensor dual_clipped = {}) {
  const at::Tensor valid = mask.to(at::kBool);
  PolicyLoss out;
  out.loss = at::where(valid, loss, at::zeros_like(loss));
  out.clipped = clipped.defined() ? (clipped & valid) : at::zeros_like(valid);
  out.dual_clipped = dual_clipped.defined() ? (dual_clipped & valid) : at::zeros_like(valid);
  out.ratio = ratio.detach();
  return out;
}

// The clipped surrogate of `ratio`, shared by PPO and GSPO.
PolicyLoss clipped_surrogate(const at::Tensor& ratio, const at::Tensor& advantage, const at::Tensor& mask,
                             const PolicyLossParams& p, bool dual) {
  const at::Tensor unclipped = -advantage * ratio;                                           // [B, T]
  const at::Tensor clipped = -advantage * ratio.clamp(1.0 - p.clip_low, 1.0 + p.clip_high);  // [B, T]
  at::Tensor loss = at::maximum(unclipped, clipped);
  const at::Tensor took_clip = clipped > unclipped;
  at::Tensor took_cap;
  if (dual && p.dual_clip_c > 0) {
    const at::Tensor cap = -advantage * p.dual_clip_c;  // the loss of a ratio of c
    const at::Tensor negative = advantage < 0;
    took_cap = negative & (loss > cap);
    loss = at::where(negative, at::minimum(loss, cap), loss);
  }
  return finish(loss, ratio, mask, took_clip, took_cap);
}

}  // namespace

PolicyLoss ppo_clip_loss(const at::Tensor& logp, const at::Tensor& old_logp, const at::Tensor& advantage,
                         const at::Tensor& mask, const PolicyLossParams& params) {
  check_shapes(logp, old_logp, advantage, mask);
  return clipped_surrogate(token_ratio(logp, old_logp), advantage, mask, params, /*dual=*/true);
}

PolicyLoss gspo_loss(const at::Tensor& logp, const at::Tensor& old_logp, const at::Tensor& advantage,
                     const at::Tensor& mask, const PolicyLossParams& params) {
  check_shapes(logp, old_logp, advantage, mask);
  const at::Tensor m = mask.to(logp.scalar_type());
  const at::Tensor lengths = m.sum(-1).clamp_min(1.0);                                   // [B]
  const at::Tensor log_s = (((logp - old_logp) * m).sum(-1) / lengths).unsqueeze(-1);    // [B, 1]
  const at::Tensor log_ratio = (logp - logp.detach() + log_s.detach()).clamp_max(10.0);  // [B, T]
  return clipped_surrogate(log_ratio.exp(), advantage, mask, params, /*dual=*/false);
}

PolicyLoss cispo_loss(const at::Tensor& logp, const at::Tensor& old_logp, const at::Tensor& advantage,
                      const at::Tensor& mask, const PolicyLossParams& params) {
  check_shapes(logp, old_logp, advantage, mask);
  const at::Tensor ratio = token_ratio(logp, old_logp).detach();                         // [B, T]
  const at::Tensor weight = ratio.clamp(1.0 - params.clip_low, 1.0 + params.clip_high);  // [B, T], no grad
  return finish(-weight * advantage * logp, ratio, mask, weight != ratio);
}

PolicyLoss sapo_loss(const at::Tensor& logp, const at::Tensor& old_logp, const at::Tensor& advantage,
                     const at::Tensor& mask, const PolicyLossParams& params) {
  check_shapes(logp, old_logp, advantage, mask);
  const at::Tensor ratio = token_ratio(logp, old_logp);  // [B, T]
  const at::Tensor tau = at::where(advantage > 0, at::full_like(advantage, params.sapo_tau_pos),
                                   at::full_like(advantage, params.sapo_tau_neg));  // [B, T]
  const at::Tensor gate = at::sigmoid(tau * (ratio - 1.0)) * 4.0 / tau;             // [B, T]
  return finish(-gate * advantage, ratio, mask);
}

PolicyLoss gpg_loss(const at::Tensor& logp, const at::Tensor& old_logp, const at::Tensor& advantage,
                    const at::Tensor& mask, const PolicyLossParams& params) {
  (void)params;
  check_shapes(logp, old_logp, advantage, mask);
  return finish(-logp * advantage, token_ratio(logp, old_logp), mask);
}

}  // namespace visrl::trainer
