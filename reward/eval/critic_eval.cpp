#include "reward/eval/critic_eval.h"

#include <chrono>
#include <cmath>

namespace visrl::reward::eval {

void CategoryCounts::add(const CategoryCounts& other) {
  true_positives += other.true_positives;
  false_positives += other.false_positives;
  false_negatives += other.false_negatives;
}

double CategoryCounts::f1() const {
  const int64_t denominator = 2 * true_positives + false_positives + false_negatives;
  return denominator > 0 ? 2.0 * static_cast<double>(true_positives) / static_cast<double>(denominator) : 0.0;
}

double CategoryCounts::precision() const {
  const int64_t n = true_positives + false_positives;
  return n > 0 ? static_cast<double>(true_positives) / static_cast<double>(n) : 0.0;
}

double CategoryCounts::recall() const {
  const int64_t n = true_positives + false_negatives;
  return n > 0 ? static_cast<double>(true_positives) / static_cast<double>(n) : 0.0;
}

std::map<std::string, CategoryCounts> match_by_category(const std::vector<std::string>& predicted,
                                                        const std::vector<std::string>& injected) {
  std::map<std::string, std::pair<int64_t, int64_t>> n;  // category -> (predicted, injected)
  for (const auto& c : predicted) ++n[c].first;
  for (const auto& c : injected) ++n[c].second;
  std::map<std::string, CategoryCounts> out;
  for (const auto& [category, count] : n) {
    CategoryCounts& c = out[category];
    c.true_positives = std::min(count.first, count.second);
    c.false_positives = count.first - c.true_positives;
    c.false_negatives = count.second - c.true_positives;
  }
  return out;
}

CategoryCounts match_categories(const std::vector<std::string>& predicted, const std::vector<std::string>& injected) {
  CategoryCounts total;
  for (const auto& [category, counts] : match_by_category(predicted, injected)) total.add(counts);
  return total;
}

std::optional<double> pearson(const std::vector<double>& x, const std::vector<double>& y) {
  const size_t n = std::min(x.size(), y.size());
  if (n < 2) return std::nullopt;
  double mx = 0, my = 0;
  for (size_t i = 0; i < n; ++i) mx += x[i], my += y[i];
  mx /= static_cast<double>(n);
  my /= static_cast<double>(n);
  double sxy = 0, sxx = 0, syy = 0;
  for (size_t i = 0; i < n; ++i) {
    sxy += (x[i] - mx) * (y[i] - my);
    sxx += (x[i] - mx) * (x[i] - mx);
    syy += (y[i] - my) * (y[i] - my);
  }
  if (sxx <= 0 || syy <= 0) return std::nullopt;
  return sxy / std::sqrt(sxx * syy);
}

Ranking rank(int clean, int light, int heavy) {
  if (clean < light && light < heavy) return Ranking::correct;
  if (clean > light || light > heavy) return Ranking::inverted;
  return Ranking::tie;
}

TripleOutcome evaluate_triple(const SyntheticTriple& triple, const CompareFn& compare) {
  TripleOutcome out;
  out.id = triple.id;
  out.task = triple.task;
  out.clean = compare(triple.task, triple.reference.image, triple.clean.image);
  const auto start = std::chrono::steady_clock::now();
  out.light = compare(triple.task, triple.reference.image, triple.light.image);
  out.heavy = compare(triple.task, triple.reference.image, triple.heavy.image);
  out.milliseconds = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  for (const auto& e : triple.light.errors) out.injected_light += e.severity;
  for (const auto& e : triple.heavy.errors) out.injected_heavy += e.severity;
  out.ranking = rank(severity_sum(out.clean), severity_sum(out.light), severity_sum(out.heavy));
  return out;
}

void EvaluationSummary::add(const TripleOutcome& outcome, const SyntheticTriple& triple) {
  ++triples;
  correct += outcome.ranking == Ranking::correct;
  ties += outcome.ranking == Ranking::tie;
  inverted += outcome.ranking == Ranking::inverted;
  clean_with_errors += !outcome.clean.empty();
  auto categories = [](const auto& errors) {
    std::vector<std::string> out;
    for (const auto& e : errors) out.push_back(e.category);
    return out;
  };
  const std::pair<const std::vector<CriticError>*, const std::vector<InjectedError>*> images[] = {
      {&outcome.light, &triple.light.errors}, {&outcome.heavy, &triple.heavy.errors}};
  for (const auto& [found, truth] : images) {
    for (const auto& [category, c] : match_by_category(categories(*found), categories(*truth))) {
      per_category[category].add(c);
      counts.add(c);
    }
    predicted.push_back(severity_sum(*found));
  }
  injected.push_back(outcome.injected_light);
  injected.push_back(outcome.injected_heavy);
  milliseconds += outcome.milliseconds;
  comparisons += 2;
}

}  // namespace visrl::reward::eval
