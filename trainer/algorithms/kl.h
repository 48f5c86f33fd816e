// KL estimators between the policy and a frozen reference, per token (REFERENCE.md
// section 9; Schulman's k1, k2, k3). Used as a loss term or subtracted from the reward.
//
//   logp, ref_logp [B, T] float   log-probs of the sampled tokens
#pragma once

#include <ATen/ATen.h>

#include "core/algorithm_choice.h"

namespace visrl::trainer {

// k1 = logp - ref; k2 = 0.5 (logp - ref)^2; k3 = exp(d) - d - 1 with d = ref - logp clamped to
// [-20, 20] before exp (so that the gradient stays finite at any log-ratio, as verl does), the
// value then clamped to [-10, 10].
at::Tensor kl_penalty(const at::Tensor& logp, const at::Tensor& ref_logp, KlEstimator estimator);

}  // namespace visrl::trainer
