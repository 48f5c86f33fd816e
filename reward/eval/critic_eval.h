// How well a critic does on synthetic triples: ranking accuracy (clean < light < heavy in
// severity sum), category F1 (predicted vs injected categories, matched per item as
// multisets, counts pooled over items as VC-RewardBench pools them) and the Pearson
// correlation of predicted with injected severity sums over the corrupted images.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "reward/critic.h"
#include "reward/eval/synthetic.h"

namespace visrl::reward::eval {

struct CategoryCounts {
  int64_t true_positives = 0;
  int64_t false_positives = 0;
  int64_t false_negatives = 0;

  void add(const CategoryCounts& other);
  // 2 TP / (2 TP + FP + FN); 0 when all counts are 0.
  double f1() const;
  double precision() const;  // 0 when nothing was predicted
  double recall() const;     // 0 when nothing was injected
};

// One item: each predicted category matches at most one injected error of that category.
CategoryCounts match_categories(const std::vector<std::string>& predicted, const std::vector<std::string>& injected);
// The same, per category.
std::map<std::string, CategoryCounts> match_by_category(const std::vector<std::string>& predicted,
                                                        const std::vector<std::string>& injected);

// Sample Pearson correlation; nullopt with fewer than two points or a constant side.
std::optional<double> pearson(const std::vector<double>& x, const std::vector<double>& y);

enum class Ranking { correct, tie, inverted };
// correct: clean < light < heavy; inverted: clean > light or light > heavy; else a tie.
Ranking rank(int clean, int light, int heavy);

using CompareFn =
    std::function<std::vector<CriticError>(Task, const render::RgbImage& reference, const render::RgbImage& rendered)>;

// The critic's view of one triple.
struct TripleOutcome {
  std::string id;
  Task task = Task::svg;
  std::vector<CriticError> clean, light, heavy;
  int injected_light = 0;
  int injected_heavy = 0;
  double milliseconds = 0;  // the light and heavy comparisons (clean is usually identical: instant)
  Ranking ranking = Ranking::inverted;
};

TripleOutcome evaluate_triple(const SyntheticTriple& triple, const CompareFn& compare);

// Accumulated over triples of one task, or pooled.
struct EvaluationSummary {
  std::string name;
  int triples = 0;
  int correct = 0;
  int ties = 0;
  int inverted = 0;
  int clean_with_errors = 0;  // clean renders that got any error
  CategoryCounts counts;
  std::map<std::string, CategoryCounts> per_category;
  std::vector<double> predicted;  // severity sums of the light and heavy images
  std::vector<double> injected;
  double milliseconds = 0;
  int comparisons = 0;

  void add(const TripleOutcome& outcome, const SyntheticTriple& triple);
  double accuracy() const { return triples > 0 ? static_cast<double>(correct) / triples : 0.0; }
  std::optional<double> correlation() const { return pearson(predicted, injected); }
};

}  // namespace visrl::reward::eval
