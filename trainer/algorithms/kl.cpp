#include "trainer/algorithms/kl.h"

namespace visrl::trainer {

at::Tensor kl_penalty(const at::Tensor& logp, const at::Tensor& ref_logp, KlEstimator estimator) {
  switch (estimator) {
    case KlEstimator::k1:
      return logp - ref_logp;
    case KlEstimator::k2:
      return 0.5 * (logp - ref_logp).pow(2);
    case KlEstimator::k3: {
      // Clamped before exp: exp(89) overflows float32, and the clamp below would give the value
      // but not the gradient (inf * 0 = NaN), which skips the whole optimizer step.
      const at::Tensor d = (ref_logp - logp).clamp(-20.0, 20.0);
      return (d.exp() - d - 1).clamp(-10.0, 10.0);
    }
  }
  return logp - ref_logp;
}

}  // namespace visrl::trainer
