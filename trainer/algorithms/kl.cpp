#include "trainer/algorithms/kl.h"

#include "core/error.h"

namespace visrl::trainer {

KlEstimator parse_kl_estimator(std::string_view name) {
  if (name == "k1" || name == "kl") return KlEstimator::k1;
  if (name == "k2" || name == "mse") return KlEstimator::k2;
  if (name == "k3" || name == "low_var_kl") return KlEstimator::k3;
  fail(ErrorKind::config, "KL estimator \"{}\": expected k1, k2 or k3", name);
}

at::Tensor kl_penalty(const at::Tensor& logp, const at::Tensor& ref_logp, KlEstimator estimator) {
  switch (estimator) {
    case KlEstimator::k1:
      return logp - ref_logp;
    case KlEstimator::k2:
      return 0.5 * (logp - ref_logp).pow(2);
    case KlEstimator::k3: {
      const at::Tensor d = ref_logp - logp;
      return (d.exp() - d - 1).clamp(-10.0, 10.0);
    }
  }
  return logp - ref_logp;
}

}  // namespace visrl::trainer
