// The loss of one micro-batch of the GRPO update, as verl's actor composes it:
//
//   loss = agg_pg(w * policy_loss(logp, old, A)) - entropy_coef * agg(entropy) + kl_coef * agg(kl(logp, ref))
//
// with w the truncated rollout importance weights (1 when off), agg_pg the policy loss's own
// aggregation (GSPO, SAPO: seq-mean-token-mean) and agg the configured one, every aggregation
// normalised by the global mini-batch (AggOptions), so that micro-batch losses add up across
// micro-batches and ranks to the mini-batch's loss. Pure tensor math; ppo_update runs it.
//
//   logp, entropy     [B, L] float   the update's forward (logp requires grad)
//   old_logp          [B, L] float   the sampler's policy, per the trainer (detached logp on-policy)
//   ref_logp          [B, L] float   the reference policy, or undefined (no KL term)
//   rollout_logp      [B, L] float   the generation engine's log-probs, or undefined
//   advantage         [B, L] float   one value per sequence, broadcast
//   mask              [B, L] bool    response tokens
#pragma once

#include <ATen/ATen.h>

#include "core/algorithm_choice.h"
#include "trainer/algorithms/loss_agg.h"
#include "trainer/algorithms/policy_loss.h"

namespace visrl::trainer {

// Built from Config in one place (trainer/loop/update_options.h); value-initialised here.
struct GrpoLossOptions {
  PolicyLossKind policy_loss{};
  PolicyLossParams params;
  LossAgg policy_agg{};       // the policy term's aggregation
  LossAgg regularizer_agg{};  // the entropy and KL terms'
  double kl_coef{};           // 0: no KL term
  KlEstimator kl_estimator{};
  double entropy_coef{};
  RolloutIs rollout_is{};
  double rollout_is_threshold{};
};

struct GrpoLoss {
  at::Tensor loss;        // [] the micro-batch's share of the mini-batch loss (differentiable)
  PolicyLoss policy;      // per-token policy loss (before the importance weights), clip flags, ratio
  at::Tensor kl;          // [B, L] per-token KL to the reference (detached), or undefined
  at::Tensor is_weights;  // [B, L] rollout importance weights, or undefined when off
};

GrpoLoss grpo_loss(const at::Tensor& logp, const at::Tensor& entropy, const at::Tensor& old_logp,
                   const at::Tensor& ref_logp, const at::Tensor& rollout_logp, const at::Tensor& advantage,
                   const at::Tensor& mask, const GrpoLossOptions& options, const AggOptions& agg);

}  // namespace visrl::trainer
