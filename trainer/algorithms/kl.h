// KL estimators between the policy and a frozen reference, per token (REFERENCE.md
// section 9; Schulman's k1, k2, k3). Used as a loss term or subtracted from the reward.
//
//   logp, ref_logp [B, T] float   log-probs of the sampled tokens
#pragma once

#include <string_view>

#include <ATen/ATen.h>

namespace visrl::trainer {

enum class KlEstimator { k1, k2, k3 };

// "k1", "k2", "k3" (also verl's "kl", "mse", "low_var_kl"); throws Error(config) else.
KlEstimator parse_kl_estimator(std::string_view name);

// k1 = logp - ref; k2 = 0.5 (logp - ref)^2; k3 = exp(ref - logp) - (ref - logp) - 1,
// clamped to [-10, 10].
at::Tensor kl_penalty(const at::Tensor& logp, const at::Tensor& ref_logp, KlEstimator estimator);

}  // namespace visrl::trainer
