#include "trainer/algorithms/grpo_loss.h"

#include "core/error.h"
#include "trainer/algorithms/kl.h"
#include "trainer/algorithms/registry.h"
#include "trainer/algorithms/rollout_correction.h"

namespace visrl::trainer {

GrpoLoss grpo_loss(const at::Tensor& logp, const at::Tensor& entropy, const at::Tensor& old_logp,
                   const at::Tensor& ref_logp, const at::Tensor& rollout_logp, const at::Tensor& advantage,
                   const at::Tensor& mask, const GrpoLossOptions& o, const AggOptions& agg) {
  GrpoLoss out;
  out.policy = policy_loss_fn(o.policy_loss)(logp, old_logp, advantage, mask, o.params);  // [B, L]
  at::Tensor pg = out.policy.loss;
  if (o.rollout_is != RolloutIs::off) {
    if (!rollout_logp.defined())
      fail(ErrorKind::runtime, "algorithm.rollout_is needs the generation's log-probs, which this batch lacks");
    out.is_weights = rollout_is_weights(o.rollout_is, old_logp, rollout_logp, mask, o.rollout_is_threshold);
    pg = pg * out.is_weights;
  }
  out.loss = aggregate_loss(pg, mask, o.policy_agg, agg);
  if (o.entropy_coef != 0) out.loss = out.loss - o.entropy_coef * aggregate_loss(entropy, mask, o.regularizer_agg, agg);
  if (ref_logp.defined()) {
    const at::Tensor kl = kl_penalty(logp, ref_logp, o.kl_estimator);  // [B, L]
    if (o.kl_coef != 0) out.loss = out.loss + o.kl_coef * aggregate_loss(kl, mask, o.regularizer_agg, agg);
    out.kl = kl.detach();
  }
  return out;
}

}  // namespace visrl::trainer
