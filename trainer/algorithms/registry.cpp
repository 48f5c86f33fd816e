#include "trainer/algorithms/registry.h"

#include <array>
#include <utility>

#include "core/error.h"
#include "trainer/algorithms/advantage.h"

namespace visrl::trainer {
namespace {

constexpr std::array<std::pair<PolicyLossKind, PolicyLossFn>, 5> kPolicyLosses{{
    {PolicyLossKind::ppo_clip, &ppo_clip_loss},
    {PolicyLossKind::gspo, &gspo_loss},
    {PolicyLossKind::cispo, &cispo_loss},
    {PolicyLossKind::sapo, &sapo_loss},
    {PolicyLossKind::gpg, &gpg_loss},
}};

at::Tensor grpo(const at::Tensor& r, const at::Tensor& g, const at::Tensor&, double eps) {
  return grpo_advantages(r, g, eps);
}
at::Tensor dr_grpo(const at::Tensor& r, const at::Tensor& g, const at::Tensor&, double) {
  return dr_grpo_advantages(r, g);
}
at::Tensor rloo(const at::Tensor& r, const at::Tensor& g, const at::Tensor&, double) {
  return rloo_advantages(r, g);
}
at::Tensor reinforce_pp(const at::Tensor& r, const at::Tensor& g, const at::Tensor& lengths, double) {
  if (!lengths.defined()) fail(ErrorKind::config, "advantage estimator reinforce_pp needs the response lengths");
  return reinforce_pp_advantages(r, g, lengths);
}

constexpr std::array<std::pair<AdvEstimator, AdvantageFn>, 4> kAdvantages{{
    {AdvEstimator::grpo, &grpo},
    {AdvEstimator::dr_grpo, &dr_grpo},
    {AdvEstimator::rloo, &rloo},
    {AdvEstimator::reinforce_pp, &reinforce_pp},
}};

template <typename Table, typename Key>
auto lookup(const Table& table, Key key) {
  for (const auto& [k, fn] : table) {
    if (k == key) return fn;
  }
  fail(ErrorKind::config, "no function registered for {}", choice_name(key));
}

}  // namespace

PolicyLossFn policy_loss_fn(PolicyLossKind kind) {
  return lookup(kPolicyLosses, kind);
}

AdvantageFn advantage_fn(AdvEstimator estimator) {
  return lookup(kAdvantages, estimator);
}

at::Tensor group_advantages(AdvEstimator estimator, const at::Tensor& rewards, const at::Tensor& group_ids,
                            const at::Tensor& lengths, double eps) {
  return advantage_fn(estimator)(rewards, group_ids, lengths, eps);
}

}  // namespace visrl::trainer
