// Acceptance: on 210 seeded synthetic triples (70 per task) the pixel critic ranks clean <
// light < heavy on at least 95% of every task and of all; category F1 and the Pearson
// correlation of severity sums are printed and held above the levels measured when this
// test was written (pixel-critic-eval prints the same numbers for any seed and size).
#include <gtest/gtest.h>

#include <cstdio>

#include "reward/eval/critic_eval.h"
#include "reward/pixel/pixel_critic.h"

namespace visrl::reward::eval {
namespace {

TEST(PixelCriticAcceptance, RanksSyntheticTriplesAndReportsF1AndPearson) {
  constexpr int kPerTask = 70;
  constexpr uint64_t kSeed = 2024;
  const CompareFn compare = [](Task task, const render::RgbImage& reference, const render::RgbImage& rendered) {
    return pixel_compare(task, reference, rendered);
  };
  struct Floor {
    Task task;
    double f1;
    double pearson;
  };
  // Measured at seed 2024: chart F1 ~0.8 / r ~0.9, table ~1.0 / ~1.0, svg ~0.96 / ~0.95.
  const Floor floors[] = {{Task::chart, 0.7, 0.8}, {Task::table, 0.95, 0.95}, {Task::svg, 0.9, 0.9}};
  EvaluationSummary pooled;
  pooled.name = "pooled";
  for (const Floor& floor : floors) {
    EvaluationSummary s;
    s.name = std::string(render::to_string(floor.task));
    for (int i = 0; i < kPerTask; ++i) {
      const auto t = generate_triples(floor.task, 1, kSeed, {}, i)[0];
      const auto outcome = evaluate_triple(t, compare);
      s.add(outcome, t);
      pooled.add(outcome, t);
    }
    const double r = s.correlation().value_or(0.0);
    std::printf(
        "%-6s triples %d ranked %.1f%% (ties %d, inverted %d) F1 %.3f (P %.3f R %.3f) Pearson %.3f  %.1f ms/pair\n",
        s.name.c_str(), s.triples, 100 * s.accuracy(), s.ties, s.inverted, s.counts.f1(), s.counts.precision(),
        s.counts.recall(), r, s.milliseconds / s.comparisons);
    EXPECT_GE(s.accuracy(), 0.95) << s.name;
    EXPECT_EQ(s.clean_with_errors, 0) << s.name;
    EXPECT_GT(s.counts.f1(), floor.f1) << s.name;
    EXPECT_GT(r, floor.pearson) << s.name;
  }
  const double r = pooled.correlation().value_or(0.0);
  std::printf("pooled triples %d ranked %.1f%% (ties %d, inverted %d) F1 %.3f Pearson %.3f\n", pooled.triples,
              100 * pooled.accuracy(), pooled.ties, pooled.inverted, pooled.counts.f1(), r);
  EXPECT_EQ(pooled.triples, 3 * kPerTask);
  EXPECT_GE(pooled.accuracy(), 0.95);
  EXPECT_GT(pooled.counts.f1(), 0.85);
  EXPECT_GT(r, 0.85);
}

}  // namespace
}  // namespace visrl::reward::eval
