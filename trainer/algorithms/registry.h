// The one table from each algorithm choice (core/algorithm_choice.h, which config validation
// reads) to its function, in the spirit of verl's core_algos registries: the update and the
// tools dispatch here, never on a name.
#pragma once

#include <ATen/ATen.h>

#include "core/algorithm_choice.h"
#include "trainer/algorithms/policy_loss.h"

namespace visrl::trainer {

// policy_loss.h's signature: logp, old_logp, advantage, mask [B, T] -> per-token PolicyLoss.
using PolicyLossFn = PolicyLoss (*)(const at::Tensor& logp, const at::Tensor& old_logp, const at::Tensor& advantage,
                                    const at::Tensor& mask, const PolicyLossParams& params);
PolicyLossFn policy_loss_fn(PolicyLossKind kind);

// advantage.h's estimators: rewards [N], group_ids [N], lengths [N] (response tokens), eps ->
// advantages [N].
using AdvantageFn = at::Tensor (*)(const at::Tensor& rewards, const at::Tensor& group_ids, const at::Tensor& lengths,
                                   double eps);
AdvantageFn advantage_fn(AdvEstimator estimator);

// advantage_fn(estimator)(rewards, group_ids, lengths, eps).
at::Tensor group_advantages(AdvEstimator estimator, const at::Tensor& rewards, const at::Tensor& group_ids,
                            const at::Tensor& lengths, double eps);

}  // namespace visrl::trainer
