// Policy-gradient losses of the GRPO family, per token (REFERENCE.md sections 9 and 10, verl's
// core_algos), before aggregation (loss_agg.h). Chosen by PolicyLossKind through
// trainer/algorithms/registry.h.
//
//   logp      [B, T] float  log-probs under the policy being trained (requires grad)
//   old_logp  [B, T] float  log-probs under the policy that sampled the tokens
//   advantage [B, T] float  the sequence advantage broadcast over its tokens
//   mask      [B, T] bool   1 on response tokens
#pragma once

#include <ATen/ATen.h>

#include "core/config.h"

namespace visrl::trainer {

// Built from AlgorithmConfig by policy_loss_params (trainer/loop/update_options.h).
struct PolicyLossParams {
  double clip_low = AlgorithmConfig{}.clip_ratio_low;    // ratio clipped below at 1 - clip_low
  double clip_high = AlgorithmConfig{}.clip_ratio_high;  // and above at 1 + clip_high (DAPO's clip-higher)
  double dual_clip_c = AlgorithmConfig{}.dual_clip_c;    // PPO, A < 0: loss capped at -c A; 0 = off
  double sapo_tau_pos = AlgorithmConfig{}.sapo_tau_pos;  // SAPO's gate temperature for A > 0
  double sapo_tau_neg = AlgorithmConfig{}.sapo_tau_neg;  // and for A <= 0
};

struct PolicyLoss {
  at::Tensor loss;          // [B, T] per-token loss (masked positions are 0)
  at::Tensor clipped;       // [B, T] bool: the clip changed the ratio used (PPO, GSPO: the clipped term won)
  at::Tensor dual_clipped;  // [B, T] bool: the dual-clip cap was taken
  at::Tensor ratio;         // [B, T] importance ratio pi / pi_old (detached)
};

// PPO-clip: ratio = exp(clamp(logp - old, -20, 20));
// loss = max(-A ratio, -A clip(ratio, 1 - low, 1 + high)); for A < 0 also min(., -c A).
PolicyLoss ppo_clip_loss(const at::Tensor& logp, const at::Tensor& old_logp, const at::Tensor& advantage,
                         const at::Tensor& mask, const PolicyLossParams& params);

// GSPO: one ratio per sequence, s = exp(mean_t(logp - old)) over the sequence's tokens,
// applied per token as exp(logp - sg(logp) + sg(log s)): every token carries the value s
// and the gradient s * dlogp_t (sg = stop-gradient); log s is clamped at 10. Clipped like
// PPO, without dual clip. Always aggregated seq-mean-token-mean (core/algorithm_choice.h).
PolicyLoss gspo_loss(const at::Tensor& logp, const at::Tensor& old_logp, const at::Tensor& advantage,
                     const at::Tensor& mask, const PolicyLossParams& params);

// CISPO (MiniMax-M1): REINFORCE weighted by the clipped ratio, which carries no gradient:
// loss = -sg(clip(ratio, 1 - low, 1 + high)) A logp. Every token keeps a gradient, clipped or not.
PolicyLoss cispo_loss(const at::Tensor& logp, const at::Tensor& old_logp, const at::Tensor& advantage,
                      const at::Tensor& mask, const PolicyLossParams& params);

// SAPO: a soft gate instead of a hard clip, loss = -A f(ratio) with
// f(r) = sigmoid(tau (r - 1)) 4 / tau (slope 1 at r = 1), tau = tau_pos for A > 0, else tau_neg.
// Always aggregated seq-mean-token-mean.
PolicyLoss sapo_loss(const at::Tensor& logp, const at::Tensor& old_logp, const at::Tensor& advantage,
                     const at::Tensor& mask, const PolicyLossParams& params);

// GPG: plain policy gradient, loss = -A logp (no ratio, no clip).
PolicyLoss gpg_loss(const at::Tensor& logp, const at::Tensor& old_logp, const at::Tensor& advantage,
                    const at::Tensor& mask, const PolicyLossParams& params);

}  // namespace visrl::trainer
