// Kendall's tau-b by merge sort against the O(n^2) definition.
#include "trainer/ablation/rank_stats.h"

#include <cmath>
#include <random>

#include <gtest/gtest.h>

namespace visrl::trainer {
namespace {

// tau-b = (C - D) / sqrt((n0 - n1)(n0 - n2)) counted pair by pair.
std::optional<double> tau_b_by_pairs(const std::vector<double>& x, const std::vector<double>& y) {
  double c = 0, d = 0, tx = 0, ty = 0, n0 = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    for (size_t j = i + 1; j < x.size(); ++j) {
      const double dx = x[i] - x[j], dy = y[i] - y[j];
      n0 += 1;
      if (dx == 0) tx += 1;
      if (dy == 0) ty += 1;
      if (dx * dy > 0) c += 1;
      if (dx * dy < 0) d += 1;
    }
  }
  if (n0 == 0 || n0 == tx || n0 == ty) return std::nullopt;
  return (c - d) / std::sqrt((n0 - tx) * (n0 - ty));
}

TEST(KendallTauB, KnownValues) {
  EXPECT_DOUBLE_EQ(*kendall_tau_b({1, 2, 3, 4}, {10, 20, 30, 40}), 1.0);
  EXPECT_DOUBLE_EQ(*kendall_tau_b({1, 2, 3, 4}, {4, 3, 2, 1}), -1.0);
  // One swapped pair of six: (5 - 1) / 6.
  EXPECT_NEAR(*kendall_tau_b({1, 2, 3, 4}, {1, 3, 2, 4}), 4.0 / 6.0, 1e-15);
  EXPECT_FALSE(kendall_tau_b({1, 1, 1}, {1, 2, 3}).has_value());
  EXPECT_FALSE(kendall_tau_b({1}, {1}).has_value());
}

TEST(KendallTauB, MatchesThePairwiseDefinitionWithTies) {
  std::mt19937_64 rng(3);
  for (int trial = 0; trial < 200; ++trial) {
    const size_t n = 2 + rng() % 60;
    std::uniform_int_distribution<int> value(0, 1 + static_cast<int>(rng() % 6));  // many ties
    std::vector<double> x(n), y(n);
    for (size_t i = 0; i < n; ++i) x[i] = value(rng), y[i] = value(rng);
    auto fast = kendall_tau_b(x, y);
    auto slow = tau_b_by_pairs(x, y);
    ASSERT_EQ(fast.has_value(), slow.has_value()) << trial;
    if (fast) {
      EXPECT_NEAR(*fast, *slow, 1e-12) << trial;
    }
  }
}

}  // namespace
}  // namespace visrl::trainer
