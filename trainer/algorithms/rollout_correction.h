// Rollout correction: truncated importance sampling between the policy that sampled the tokens
// (the generation engine's log-probs) and the policy the update calls old (the trainer's forward
// on the same weights), as verl's rollout_corr_helper computes it (decoupled mode). One engine
// keeps the two close; bf16 or CUDA kernels that differ between generation and training do not.
//
//   old_logp, rollout_logp [B, T] float, mask [B, T] bool
#pragma once

#include <ATen/ATen.h>

#include "core/algorithm_choice.h"

namespace visrl::trainer {

// [B, T] weights without gradient, 0 off the mask, truncated above at `threshold`:
//   token:    w_t = exp(clamp(old_t - rollout_t, -20, 20))
//   sequence: w_t = exp(clamp(sum_t (old_t - rollout_t), -20, 20)) for every token of the sequence
// RolloutIs::off gives ones. They multiply the per-token policy loss (not the KL or entropy).
at::Tensor rollout_is_weights(RolloutIs level, const at::Tensor& old_logp, const at::Tensor& rollout_logp,
                              const at::Tensor& mask, double threshold);

}  // namespace visrl::trainer
