// Policy-gradient losses of the GRPO family, per token (REFERENCE.md section 9, verl's
// core_algos), before aggregation (loss_agg.h).
//
//   logp      [B, T] float  log-probs under the policy being trained (requires grad)
//   old_logp  [B, T] float  log-probs under the policy that sampled the tokens
//   advantage [B, T] float  the sequence advantage broadcast over its tokens
//   mask      [B, T] bool   1 on response tokens
#pragma once

#include <ATen/ATen.h>

namespace visrl::trainer {

struct ClipConfig {
  double clip_low = 0.2;     // ratio clipped below at 1 - clip_low
  double clip_high = 0.2;    // and above at 1 + clip_high (DAPO's clip-higher when larger)
  double dual_clip_c = 3.0;  // negative advantages: loss capped at -c * A; 0 = off (needs c > 1)
};

struct PolicyLoss {
  at::Tensor loss;          // [B, T] per-token loss (masked positions are 0)
  at::Tensor clipped;       // [B, T] bool: the clipped term was taken (ratio outside the band)
  at::Tensor dual_clipped;  // [B, T] bool: the dual-clip cap was taken
  at::Tensor ratio;         // [B, T] importance ratio used (detached)
};

// PPO-clip: ratio = exp(clamp(logp - old, -20, 20));
// loss = max(-A ratio, -A clip(ratio, 1 - low, 1 + high)); for A < 0 also min(., -c A).
PolicyLoss ppo_clip_loss(const at::Tensor& logp, const at::Tensor& old_logp, const at::Tensor& advantage,
                         const at::Tensor& mask, const ClipConfig& clip);

// GSPO: one ratio per sequence, s = exp(mean_t(logp - old)) over the sequence's tokens,
// applied per token as exp(logp - sg(logp) + sg(log s)): every token carries the value s
// and the gradient s * dlogp_t (sg = stop-gradient); log s is clamped at 10. Clipped like
// PPO, without dual clip. Aggregate with seq-mean-token-mean for GSPO's sequence objective.
PolicyLoss gspo_loss(const at::Tensor& logp, const at::Tensor& old_logp, const at::Tensor& advantage,
                     const at::Tensor& mask, const ClipConfig& clip);

}  // namespace visrl::trainer
