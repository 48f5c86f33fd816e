// Losses, KL estimators, aggregation and DAPO shaping against hand-computed values
// (REFERENCE.md section 9).
#include <cmath>
#include <limits>

#include <gtest/gtest.h>

#include "tests/test_util.h"
#include "trainer/algorithms/advantage.h"
#include "trainer/algorithms/kl.h"
#include "trainer/algorithms/loss_agg.h"
#include "trainer/algorithms/policy_loss.h"
#include "trainer/algorithms/registry.h"
#include "trainer/algorithms/rollout_correction.h"
#include "trainer/algorithms/shaping.h"

namespace visrl::trainer {
namespace {

AggOptions opts(std::optional<double> tokens, std::optional<double> sequences, double norm = 1.0) {
  AggOptions o;
  o.global_tokens = tokens;
  o.global_sequences = sequences;
  o.norm_constant = norm;
  return o;
}

PolicyLossParams clip(double low, double high, double dual_c) {
  PolicyLossParams p;
  p.clip_low = low;
  p.clip_high = high;
  p.dual_clip_c = dual_c;
  return p;
}

at::Tensor t(std::vector<double> v) {
  return at::tensor(v, at::kDouble);
}
double at0(const at::Tensor& x) {
  return x.item<double>();
}

TEST(LossAgg, FourModes) {
  const at::Tensor loss = t({1, 2, 3, 4, 5, std::numeric_limits<double>::quiet_NaN()}).view({2, 3});
  const at::Tensor mask = at::tensor({1, 1, 1, 1, 1, 0}).to(at::kBool).view({2, 3});
  EXPECT_DOUBLE_EQ(at0(aggregate_loss(loss, mask, LossAgg::token_mean)), 15.0 / 5);
  EXPECT_DOUBLE_EQ(at0(aggregate_loss(loss, mask, LossAgg::token_mean, opts(10.0, std::nullopt))), 1.5);
  EXPECT_DOUBLE_EQ(at0(aggregate_loss(loss, mask, LossAgg::seq_mean_token_sum)), (6 + 9) / 2.0);
  EXPECT_DOUBLE_EQ(at0(aggregate_loss(loss, mask, LossAgg::seq_mean_token_mean)), (2 + 4.5) / 2);
  EXPECT_DOUBLE_EQ(at0(aggregate_loss(loss, mask, LossAgg::seq_mean_token_mean, opts(std::nullopt, 4.0))),
                   (2 + 4.5) / 4);
  // Dr. GRPO: sum / (sequences * C) = 15 / (2 * 4).
  EXPECT_DOUBLE_EQ(
      at0(aggregate_loss(loss, mask, LossAgg::seq_mean_token_sum_norm, opts(std::nullopt, std::nullopt, 4.0))),
      15.0 / 8);
  EXPECT_EQ(parse_choice<LossAgg>("algorithm.loss_agg_mode", "seq-mean-token-sum-norm"),
            LossAgg::seq_mean_token_sum_norm);
  const auto error = test::expected_error([] { parse_choice<LossAgg>("algorithm.loss_agg_mode", "token-sum"); });
  EXPECT_NE(error.find("token-sum"), std::string::npos) << error;
  EXPECT_NE(error.find("algorithm.loss_agg_mode"), std::string::npos) << error;
}

// With the global counts, every mode sums over micro-batches (and ranks) to the loss of the
// whole mini-batch: the split does not change the update. Dr. GRPO's mode included (it used
// to divide each part by C alone, so a mini-batch of 2N sequences had twice the gradient).
TEST(LossAgg, MicroBatchesAddUpToTheMiniBatch) {
  const at::Tensor loss = t({1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}).view({4, 3});
  const at::Tensor mask = at::tensor({1, 1, 1, 1, 1, 0, 1, 0, 0, 1, 1, 1}).to(at::kBool).view({4, 3});
  for (const auto mode : {LossAgg::token_mean, LossAgg::seq_mean_token_sum, LossAgg::seq_mean_token_mean,
                          LossAgg::seq_mean_token_sum_norm}) {
    const auto global = opts(mask.sum().item<double>(), 4.0, 16.0);
    const double whole = at0(aggregate_loss(loss, mask, mode, global));
    double parts = 0;
    for (int64_t b = 0; b < 4; ++b)
      parts += at0(aggregate_loss(loss.narrow(0, b, 1), mask.narrow(0, b, 1), mode, global));
    EXPECT_NEAR(parts, whole, 1e-12) << choice_name(mode);
    // And the whole batch with global counts equals the plain (local) aggregation.
    EXPECT_NEAR(whole, at0(aggregate_loss(loss, mask, mode, opts(std::nullopt, std::nullopt, 16.0))), 1e-12)
        << choice_name(mode);
  }
}

TEST(Kl, ThreeEstimators) {
  const at::Tensor logp = t({std::log(0.5), std::log(0.5)}), ref = t({std::log(0.25), std::log(0.5) + 30});
  const double ln2 = std::log(2.0);
  at::Tensor k1 = kl_penalty(logp, ref, KlEstimator::k1);
  EXPECT_NEAR(k1[0].item<double>(), ln2, 1e-12);
  EXPECT_NEAR(kl_penalty(logp, ref, KlEstimator::k2)[0].item<double>(), 0.5 * ln2 * ln2, 1e-12);
  at::Tensor k3 = kl_penalty(logp, ref, KlEstimator::k3);
  EXPECT_NEAR(k3[0].item<double>(), 0.5 + ln2 - 1, 1e-12);  // exp(-ln2) - (-ln2) - 1
  EXPECT_DOUBLE_EQ(k3[1].item<double>(), 10.0);             // exp(30) clamped
  EXPECT_EQ(parse_choice<KlEstimator>("algorithm.kl_estimator", "low_var_kl"), KlEstimator::k3);
  EXPECT_NE(test::expected_error([] { parse_choice<KlEstimator>("algorithm.kl_estimator", "k4"); }).find("k4"),
            std::string::npos);
}

// k3 at log-ratios far beyond exp's float range: the value is clamped, and the gradient must be
// finite too (exp(ref - logp) of ~89 overflows float32, and a NaN gradient skips the whole step).
TEST(Kl, K3GradientStaysFiniteAtExtremeLogRatios) {
  for (const double gap : {-1000.0, -100.0, -30.0, 30.0, 89.0, 100.0, 1000.0}) {
    at::Tensor logp = at::full({1, 2}, -3.0, at::kFloat).requires_grad_();
    const at::Tensor ref = at::full({1, 2}, -3.0 + gap, at::kFloat);
    const at::Tensor k3 = kl_penalty(logp, ref, KlEstimator::k3);
    k3.sum().backward();
    EXPECT_TRUE(std::isfinite(k3.sum().item<double>())) << gap;
    EXPECT_TRUE(at::isfinite(logp.grad()).all().item<bool>()) << "gap " << gap << ": " << logp.grad();
    EXPECT_LE(k3.max().item<double>(), 10.0) << gap;
  }
  // Inside the clamps the gradient is k3's: d/dlogp (e^d - d - 1) = 1 - e^d with d = ref - logp.
  at::Tensor logp = at::full({1, 1}, -1.0, at::kDouble).requires_grad_();
  kl_penalty(logp, at::full({1, 1}, -1.5, at::kDouble), KlEstimator::k3).sum().backward();
  EXPECT_NEAR(logp.grad().item<double>(), 1 - std::exp(-0.5), 1e-12);
}

TEST(PolicyLoss, PpoClipWithSeparateBoundsAndDualClip) {
  // Ratios 1.5, 1.5, 0.5, 0.5, 5 with advantages +1, -1, +1, -1, -1.
  const std::vector<double> ratios = {1.5, 1.5, 0.5, 0.5, 5.0};
  std::vector<double> logs;
  for (double r : ratios) logs.push_back(std::log(r));
  at::Tensor logp = t(logs).view({1, 5}).requires_grad_();
  const at::Tensor old = at::zeros({1, 5}, at::kDouble);
  const at::Tensor adv = t({1, -1, 1, -1, -1}).view({1, 5});
  const at::Tensor mask = at::ones({1, 5}, at::kBool);
  PolicyLoss out = ppo_clip_loss(logp, old, adv, mask, clip(0.2, 0.2, 3.0));
  const std::vector<double> want = {-1.2, 1.5, -0.5, 0.8, 3.0};
  for (int i = 0; i < 5; ++i) EXPECT_NEAR(out.loss[0][i].item<double>(), want[i], 1e-12) << i;
  EXPECT_TRUE(out.clipped[0][0].item<bool>());
  EXPECT_FALSE(out.clipped[0][1].item<bool>());
  EXPECT_TRUE(out.clipped[0][3].item<bool>());
  EXPECT_TRUE(out.dual_clipped[0][4].item<bool>());
  EXPECT_FALSE(out.dual_clipped[0][1].item<bool>());
  out.loss.sum().backward();
  // d(-A r)/dlogp = -A r where the unclipped term is taken, 0 where a clip is.
  const std::vector<double> grad = {0, 1.5, -0.5, 0, 0};
  for (int i = 0; i < 5; ++i) EXPECT_NEAR(logp.grad()[0][i].item<double>(), grad[i], 1e-12) << i;

  // Clip-higher: 1 + 0.28 lets the first ratio through further; no dual clip with c = 0.
  PolicyLoss wide = ppo_clip_loss(logp.detach(), old, adv, mask, clip(0.2, 0.28, 0.0));
  EXPECT_NEAR(wide.loss[0][0].item<double>(), -1.28, 1e-12);
  EXPECT_NEAR(wide.loss[0][4].item<double>(), 5.0, 1e-12);
  // Masked tokens contribute nothing.
  PolicyLoss masked = ppo_clip_loss(logp.detach(), old, adv, at::zeros({1, 5}, at::kBool), {});
  EXPECT_DOUBLE_EQ(masked.loss.abs().sum().item<double>(), 0.0);
  // Padding with an infinite advantage still contributes exactly 0.
  const at::Tensor inf_adv = t({1, 1, 1, 1, std::numeric_limits<double>::infinity()}).view({1, 5});
  const at::Tensor first4 = at::tensor({1, 1, 1, 1, 0}).to(at::kBool).view({1, 5});
  EXPECT_TRUE(std::isfinite(ppo_clip_loss(logp.detach(), old, inf_adv, first4, {}).loss.sum().item<double>()));
}

TEST(PolicyLoss, GspoUsesOneRatioPerSequence) {
  // Sequence 0: log-ratio ln 2 and 0 -> s = sqrt(2) (clipped at 1.2 for A = 1).
  // Sequence 1: ln 0.9 twice -> s = 0.9; the third token is padding.
  at::Tensor logp = t({std::log(2.0), 0.0, 0.0, std::log(0.9), std::log(0.9), 7.0}).view({2, 3}).requires_grad_();
  const at::Tensor old = at::zeros({2, 3}, at::kDouble);
  const at::Tensor adv = at::ones({2, 3}, at::kDouble);
  const at::Tensor mask = at::tensor({1, 1, 0, 1, 1, 0}).to(at::kBool).view({2, 3});
  PolicyLoss out = gspo_loss(logp, old, adv, mask, clip(0.2, 0.2, 3.0));
  EXPECT_NEAR(out.ratio[0][1].item<double>(), std::sqrt(2.0), 1e-12);
  EXPECT_NEAR(out.loss[0][0].item<double>(), -1.2, 1e-12);
  EXPECT_NEAR(out.loss[0][1].item<double>(), -1.2, 1e-12);
  EXPECT_NEAR(out.loss[1][0].item<double>(), -0.9, 1e-12);
  EXPECT_DOUBLE_EQ(out.loss[1][2].item<double>(), 0.0);
  out.loss.sum().backward();
  EXPECT_NEAR(logp.grad()[1][0].item<double>(), -0.9, 1e-12);  // -A * s per token
  EXPECT_DOUBLE_EQ(logp.grad()[0][0].item<double>(), 0.0);     // clipped
}

// CISPO: -sg(clip(r)) A logp. Ratios 1.5 and 0.5 with A = +1, -1: the weights are 1.2 and 0.8,
// and the gradient -w A reaches every token, clipped or not.
TEST(PolicyLoss, CispoWeighsLogProbsByTheClippedRatioWithoutItsGradient) {
  at::Tensor logp = t({std::log(1.5) - 1, std::log(0.5) - 2, 5.0}).view({1, 3}).requires_grad_();
  const at::Tensor old = t({-1, -2, 0}).view({1, 3});
  const at::Tensor adv = t({1, -1, 1}).view({1, 3});
  const at::Tensor mask = at::tensor({1, 1, 0}).to(at::kBool).view({1, 3});
  PolicyLoss out = cispo_loss(logp, old, adv, mask, clip(0.2, 0.2, 3.0));
  EXPECT_NEAR(out.loss[0][0].item<double>(), -1.2 * (std::log(1.5) - 1), 1e-12);
  EXPECT_NEAR(out.loss[0][1].item<double>(), 0.8 * (std::log(0.5) - 2), 1e-12);
  EXPECT_DOUBLE_EQ(out.loss[0][2].item<double>(), 0.0);
  EXPECT_TRUE(out.clipped[0][0].item<bool>() && out.clipped[0][1].item<bool>());
  out.loss.sum().backward();
  EXPECT_NEAR(logp.grad()[0][0].item<double>(), -1.2, 1e-12);
  EXPECT_NEAR(logp.grad()[0][1].item<double>(), 0.8, 1e-12);
}

// SAPO: -A sigmoid(tau (r - 1)) 4 / tau, tau = 1 for A > 0 and 1.05 otherwise; slope 1 at r = 1.
TEST(PolicyLoss, SapoGatesTheRatioSoftly) {
  at::Tensor logp = t({std::log(1.5), std::log(1.5), 0.0}).view({1, 3}).requires_grad_();
  const at::Tensor old = at::zeros({1, 3}, at::kDouble);
  const at::Tensor adv = t({2, -1, 1}).view({1, 3});
  const at::Tensor mask = at::ones({1, 3}, at::kBool);
  PolicyLossParams p;  // tau_pos 1, tau_neg 1.05 (core/config.h)
  PolicyLoss out = sapo_loss(logp, old, adv, mask, p);
  const auto sigmoid = [](double x) { return 1 / (1 + std::exp(-x)); };
  EXPECT_NEAR(out.loss[0][0].item<double>(), -2 * sigmoid(0.5) * 4, 1e-12);
  EXPECT_NEAR(out.loss[0][1].item<double>(), 1 * sigmoid(1.05 * 0.5) * 4 / 1.05, 1e-12);
  out.loss.sum().backward();
  EXPECT_NEAR(logp.grad()[0][2].item<double>(), -1.0, 1e-12);  // r = 1: the gate's slope is 1, d r/d logp = 1
  const double s = sigmoid(0.5);
  EXPECT_NEAR(logp.grad()[0][0].item<double>(), -2 * 4 * s * (1 - s) * 1.5, 1e-12);
}

TEST(PolicyLoss, GpgIsPlainPolicyGradient) {
  at::Tensor logp = t({-1, -2}).view({1, 2}).requires_grad_();
  PolicyLoss out = gpg_loss(logp, t({-5, 3}).view({1, 2}), t({0.5, -2}).view({1, 2}), at::ones({1, 2}, at::kBool), {});
  EXPECT_NEAR(out.loss[0][0].item<double>(), 0.5, 1e-12);
  EXPECT_NEAR(out.loss[0][1].item<double>(), -4.0, 1e-12);
  out.loss.sum().backward();
  EXPECT_NEAR(logp.grad()[0][1].item<double>(), 2.0, 1e-12);
}

// Every policy loss of the config's table has a function, and it is the one its name says.
TEST(Registry, EveryChoiceHasItsFunction) {
  EXPECT_EQ(policy_loss_fn(PolicyLossKind::ppo_clip), &ppo_clip_loss);
  EXPECT_EQ(policy_loss_fn(PolicyLossKind::gspo), &gspo_loss);
  EXPECT_EQ(policy_loss_fn(PolicyLossKind::cispo), &cispo_loss);
  EXPECT_EQ(policy_loss_fn(PolicyLossKind::sapo), &sapo_loss);
  EXPECT_EQ(policy_loss_fn(PolicyLossKind::gpg), &gpg_loss);
  for (const auto& c : choices<AdvEstimator>()) EXPECT_NE(advantage_fn(c.value), nullptr) << c.name;
  EXPECT_EQ(choice_names<PolicyLossKind>().size(), 6u);  // five and verl's "vanilla"
  EXPECT_EQ(parse_choice<PolicyLossKind>("algorithm.policy_loss", "vanilla"), PolicyLossKind::ppo_clip);
}

// GSPO and SAPO are defined seq-mean-token-mean: auto gives it, an explicit other mode is an
// error naming the key; the entropy and KL terms keep the configured mode (token-mean for auto).
TEST(Registry, LossAggregationOfEachPolicyLoss) {
  EXPECT_EQ(policy_loss_agg(PolicyLossKind::gspo, "auto"), LossAgg::seq_mean_token_mean);
  EXPECT_EQ(policy_loss_agg(PolicyLossKind::sapo, "auto"), LossAgg::seq_mean_token_mean);
  EXPECT_EQ(policy_loss_agg(PolicyLossKind::ppo_clip, "auto"), LossAgg::token_mean);
  EXPECT_EQ(policy_loss_agg(PolicyLossKind::cispo, "seq-mean-token-sum"), LossAgg::seq_mean_token_sum);
  EXPECT_EQ(regularizer_loss_agg("auto"), LossAgg::token_mean);
  const auto error = test::expected_error([] { policy_loss_agg(PolicyLossKind::gspo, "token-mean"); });
  EXPECT_NE(error.find("algorithm.loss_agg_mode"), std::string::npos) << error;
  EXPECT_NE(error.find("seq-mean-token-mean"), std::string::npos) << error;
}

// Truncated importance weights pi_old / pi_rollout, per token or per sequence.
TEST(RolloutCorrection, TruncatedWeights) {
  const at::Tensor old = t({0.1, -0.2, 2.0, 0.3}).view({2, 2});
  const at::Tensor rollout = t({0.0, 0.0, 0.0, 0.0}).view({2, 2});
  const at::Tensor mask = at::tensor({1, 1, 1, 0}).to(at::kBool).view({2, 2});
  const auto token = rollout_is_weights(RolloutIs::token, old, rollout, mask, 2.0);
  EXPECT_NEAR(token[0][0].item<double>(), std::exp(0.1), 1e-12);
  EXPECT_NEAR(token[0][1].item<double>(), std::exp(-0.2), 1e-12);
  EXPECT_DOUBLE_EQ(token[1][0].item<double>(), 2.0);  // e^2 truncated
  EXPECT_DOUBLE_EQ(token[1][1].item<double>(), 0.0);  // padding
  const auto seq = rollout_is_weights(RolloutIs::sequence, old, rollout, mask, 2.0);
  EXPECT_NEAR(seq[0][0].item<double>(), std::exp(-0.1), 1e-12);
  EXPECT_NEAR(seq[0][1].item<double>(), std::exp(-0.1), 1e-12);
  EXPECT_DOUBLE_EQ(seq[1][0].item<double>(), 2.0);
  EXPECT_FALSE(seq.requires_grad());
}

TEST(Advantages, ReinforcePlusPlusBaselineWhitensOverTokens) {
  // Group 0: rewards 1, 3 (mean 2) -> -1, 1; group 1: one answer -> 2. Lengths 1, 3, 2:
  // token mean (-1 + 3 + 4) / 6 = 1, unbiased token variance (4 + 0 + 2) / 5 = 1.2.
  at::Tensor a = reinforce_pp_advantages(t({1, 3, 2}), at::tensor({0L, 0L, 1L}), at::tensor({1L, 3L, 2L}));
  const double sd = std::sqrt(1.2 + 1e-8);
  EXPECT_NEAR(a[0].item<double>(), -2 / sd, 1e-12);
  EXPECT_NEAR(a[1].item<double>(), 0.0, 1e-12);
  EXPECT_NEAR(a[2].item<double>(), 1 / sd, 1e-12);
  std::string error =
      test::expected_error([] { group_advantages(AdvEstimator::reinforce_pp, t({1}), at::tensor({0L}), {}, 1e-6); });
  EXPECT_NE(error.find("lengths"), std::string::npos) << error;
}

TEST(Shaping, SoftOverlongPenalty) {
  at::Tensor p = overlong_penalty(at::tensor({50L, 80L, 90L, 100L, 120L}), 100, 20, 1.0);
  const std::vector<double> want = {0, 0, -0.5, -1, -1};
  for (int i = 0; i < 5; ++i) EXPECT_NEAR(p[i].item<double>(), want[i], 1e-12) << i;
  EXPECT_DOUBLE_EQ(overlong_penalty(at::tensor({500L}), 100, 0, 1.0)[0].item<double>(), 0.0);
}

TEST(Shaping, DynamicSamplingKeepsGroupsWithSignal) {
  at::Tensor keep = informative_groups(t({1, 1, 2, 3, 5}), at::tensor({0L, 0L, 1L, 1L, 2L}));
  const std::vector<bool> want = {false, false, true, true, false};
  for (int i = 0; i < 5; ++i) EXPECT_EQ(keep[i].item<bool>(), want[i]) << i;
}

}  // namespace
}  // namespace visrl::trainer
