// The evaluation metrics against hand-computed values.
#include "reward/eval/critic_eval.h"

#include <gtest/gtest.h>

#include <cmath>

namespace visrl::reward::eval {
namespace {

TEST(CriticEval, CategoriesMatchAsMultisets) {
  // predicted {data, data, text} vs injected {data, style}: one data matches.
  const CategoryCounts c = match_categories({"data_error", "data_error", "text_error"}, {"data_error", "style_error"});
  EXPECT_EQ(c.true_positives, 1);
  EXPECT_EQ(c.false_positives, 2);
  EXPECT_EQ(c.false_negatives, 1);
  EXPECT_DOUBLE_EQ(c.f1(), 2.0 / 5.0);  // 2 TP / (2 TP + FP + FN)
  EXPECT_DOUBLE_EQ(c.precision(), 1.0 / 3.0);
  EXPECT_DOUBLE_EQ(c.recall(), 0.5);
  const auto per = match_by_category({"a", "a", "b"}, {"a", "c"});
  EXPECT_EQ(per.at("a").true_positives, 1);
  EXPECT_EQ(per.at("a").false_positives, 1);
  EXPECT_EQ(per.at("b").false_positives, 1);
  EXPECT_EQ(per.at("c").false_negatives, 1);
  EXPECT_DOUBLE_EQ(CategoryCounts{}.f1(), 0.0);
  CategoryCounts pooled = c;
  pooled.add(match_categories({"x"}, {"x"}));
  EXPECT_DOUBLE_EQ(pooled.f1(), 4.0 / 7.0);
}

TEST(CriticEval, PearsonMatchesHandComputedValues) {
  EXPECT_NEAR(*pearson({1, 2, 3}, {2, 4, 6}), 1.0, 1e-12);
  EXPECT_NEAR(*pearson({1, 2, 3}, {3, 2, 1}), -1.0, 1e-12);
  // dx = dy-permuted {-1.5, -0.5, 0.5, 1.5}: sxy = 4, sxx = syy = 5.
  EXPECT_NEAR(*pearson({1, 2, 3, 4}, {1, 3, 2, 4}), 0.8, 1e-12);
  EXPECT_FALSE(pearson({1, 1, 1}, {1, 2, 3}).has_value());
  EXPECT_FALSE(pearson({1}, {2}).has_value());
}

TEST(CriticEval, RankingNeedsStrictOrder) {
  EXPECT_EQ(rank(0, 1, 2), Ranking::correct);
  EXPECT_EQ(rank(0, 0, 3), Ranking::tie);
  EXPECT_EQ(rank(0, 2, 2), Ranking::tie);
  EXPECT_EQ(rank(0, 3, 2), Ranking::inverted);
  EXPECT_EQ(rank(2, 1, 5), Ranking::inverted);
}

TEST(CriticEval, SummaryAddsOutcomes) {
  // A fake critic that reports one data_error of severity 2 per corrupted image.
  const auto triples = generate_triples(Task::chart, 2, 4);
  const CompareFn fake = [](Task, const render::RgbImage& reference, const render::RgbImage& rendered) {
    std::vector<CriticError> out;
    if (reference.rgb != rendered.rgb) out.push_back({"data_error", rendered.rgb.size() % 2 == 0 ? 2 : 1, "", ""});
    return out;
  };
  EvaluationSummary s;
  for (const auto& t : triples) s.add(evaluate_triple(t, fake), t);
  EXPECT_EQ(s.triples, 2);
  EXPECT_EQ(s.correct, 0);  // light and heavy get the same severity: ties
  EXPECT_EQ(s.ties, 2);
  EXPECT_EQ(s.clean_with_errors, 0);
  EXPECT_EQ(s.predicted.size(), 4u);
  EXPECT_EQ(s.injected.size(), 4u);
  EXPECT_EQ(s.comparisons, 4);
  int images_with_data = 0, injected_all = 0;
  for (const auto& t : triples)
    for (const auto* image : {&t.light, &t.heavy}) {
      bool data = false;
      for (const auto& e : image->errors) data = data || e.category == "data_error", ++injected_all;
      images_with_data += data;
    }
  EXPECT_EQ(s.counts.true_positives, images_with_data);
  EXPECT_EQ(s.counts.true_positives + s.counts.false_negatives, injected_all);
  EXPECT_EQ(s.counts.true_positives + s.counts.false_positives, 4);
}

}  // namespace
}  // namespace visrl::reward::eval
