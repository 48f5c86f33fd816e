// Advantage estimators against hand-computed values (REFERENCE.md section 9).
#include "trainer/algorithms/advantage.h"
#include "trainer/algorithms/registry.h"

#include <gtest/gtest.h>

#include "tests/test_util.h"

namespace visrl::trainer {
namespace {

// Group 0: rewards 1, 2, 3 (mean 2, unbiased std 1); group 1: one answer; group 2: all equal.
const std::vector<double> kRewards = {1, 2, 3, 5, 4, 4};
const std::vector<int64_t> kGroups = {0, 0, 0, 1, 2, 2};

std::vector<double> values(const at::Tensor& t) {
  at::Tensor d = t.to(at::kDouble).contiguous();
  return {d.data_ptr<double>(), d.data_ptr<double>() + d.numel()};
}

void expect_near(const std::vector<double>& got, const std::vector<double>& want) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], want[i], 1e-12) << i;
}

TEST(Advantages, Grpo) {
  const double eps = 1e-6;
  auto a = values(grpo_advantages(at::tensor(kRewards, at::kDouble), at::tensor(kGroups, at::kLong), eps));
  expect_near(a, {-1 / (1 + eps), 0, 1 / (1 + eps), 5 / (1 + eps), 0, 0});
  // Shuffled group ids give the same per-answer values; float rewards stay float.
  at::Tensor f = grpo_advantages(at::tensor({4.0f, 1.0f, 3.0f, 2.0f}), at::tensor({1L, 0L, 0L, 0L}), 0.0);
  EXPECT_EQ(f.scalar_type(), at::kFloat);
  expect_near(values(f), {4.0, -1, 1, 0});
}

TEST(Advantages, GrpoUsesTheUnbiasedStd) {
  // Rewards 0 and 1: mean 0.5, unbiased std sqrt(0.5).
  auto a = values(grpo_advantages(at::tensor({0.0, 1.0}, at::kDouble), at::tensor({0L, 0L}), 0.0));
  expect_near(a, {-0.5 / std::sqrt(0.5), 0.5 / std::sqrt(0.5)});
}

TEST(Advantages, DrGrpoAndRloo) {
  auto d = values(dr_grpo_advantages(at::tensor(kRewards, at::kDouble), at::tensor(kGroups, at::kLong)));
  expect_near(d, {-1, 0, 1, 5, 0, 0});
  // RLOO: r_i - mean of the others = 3/2 (r_i - 2) in group 0.
  auto r = values(rloo_advantages(at::tensor(kRewards, at::kDouble), at::tensor(kGroups, at::kLong)));
  expect_near(r, {1 - 2.5, 2 - 2.0, 3 - 1.5, 5, 0, 0});
}

TEST(Advantages, ByName) {
  at::Tensor r = at::tensor(kRewards, at::kDouble), g = at::tensor(kGroups, at::kLong);
  expect_near(values(group_advantages(parse_choice<AdvEstimator>("algorithm.adv_estimator", "rloo"), r, g, {}, 1e-6)),
              values(rloo_advantages(r, g)));
  std::string error = test::expected_error([&] { parse_choice<AdvEstimator>("algorithm.adv_estimator", "ppo"); });
  EXPECT_NE(error.find("ppo"), std::string::npos) << error;
}

}  // namespace
}  // namespace visrl::trainer
