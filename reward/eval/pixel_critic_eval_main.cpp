// build/bin/pixel-critic-eval: the pixel critic on seeded synthetic triples. Prints per task
// and pooled the ranking accuracy (clean < light < heavy in severity sum; ties and inversions
// apart), the category F1 (with precision, recall and per-category F1) and the Pearson
// correlation of predicted with injected severity sums over the corrupted images.
#include <cstdio>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/program.h"
#include "reward/eval/critic_eval.h"
#include "reward/eval/synthetic.h"
#include "reward/pixel/pixel_critic.h"

namespace {

using visrl::reward::Task;
using visrl::reward::eval::EvaluationSummary;

nlohmann::json to_json(const EvaluationSummary& s) {
  nlohmann::json categories = nlohmann::json::object();
  for (const auto& [name, c] : s.per_category)
    categories[name] = {{"f1", c.f1()}, {"tp", c.true_positives}, {"fp", c.false_positives}, {"fn", c.false_negatives}};
  const auto r = s.correlation();
  return {{"triples", s.triples},
          {"ranking_accuracy", s.accuracy()},
          {"correct", s.correct},
          {"ties", s.ties},
          {"inverted", s.inverted},
          {"clean_with_errors", s.clean_with_errors},
          {"category_f1", s.counts.f1()},
          {"precision", s.counts.precision()},
          {"recall", s.counts.recall()},
          {"pearson", r ? nlohmann::json(*r) : nlohmann::json(nullptr)},
          {"ms_per_comparison", s.comparisons > 0 ? s.milliseconds / s.comparisons : 0.0},
          {"categories", categories}};
}

void print(const EvaluationSummary& s) {
  const auto r = s.correlation();
  fmt::print("{:<7} {:>7} {:>9.1f}% {:>6} {:>8} {:>8} {:>7.3f} {:>6.3f} {:>6.3f} {:>8} {:>9.2f}\n", s.name, s.triples,
             100.0 * s.accuracy(), s.ties, s.inverted, s.clean_with_errors, s.counts.f1(), s.counts.precision(),
             s.counts.recall(), r ? fmt::format("{:.3f}", *r) : std::string("n/a"),
             s.comparisons > 0 ? s.milliseconds / s.comparisons : 0.0);
}

std::string describe(const std::vector<visrl::reward::CriticError>& errors) {
  std::string out;
  for (const auto& e : errors)
    out += fmt::format("\n      {} {} @{}: {}", e.category, e.severity, e.location, e.description);
  return out;
}

std::string describe(const std::vector<visrl::reward::eval::InjectedError>& errors) {
  std::string out;
  for (const auto& e : errors) out += fmt::format("\n      {} {}: {}", e.category, e.severity, e.description);
  return out;
}

void print_failure(const visrl::reward::eval::TripleOutcome& o, const visrl::reward::eval::SyntheticTriple& t) {
  using visrl::reward::severity_sum;
  const bool tie = o.ranking == visrl::reward::eval::Ranking::tie;
  std::fprintf(stderr, "%s\n",
               fmt::format("{} {}: S clean {} light {} heavy {} (injected light {}, heavy {})\n"
                           "  light injected:{}\n  light found:{}\n  heavy injected:{}\n  heavy found:{}\n"
                           "  clean found:{}",
                           o.id, tie ? "tie" : "inverted", severity_sum(o.clean), severity_sum(o.light),
                           severity_sum(o.heavy), o.injected_light, o.injected_heavy, describe(t.light.errors),
                           describe(o.light), describe(t.heavy.errors), describe(o.heavy), describe(o.clean))
                   .c_str());
}

}  // namespace

int main(int argc, char** argv) {
  return visrl::run_program([&] {
    CLI::App app{"Evaluate the pixel critic on seeded synthetic (reference, light, heavy) triples."};
    int n = 100;
    uint64_t seed = 1;
    std::string task_name = "all";
    bool json = false, failures = false;
    std::string write_dir;
    app.add_option("--n", n, "triples per task")->check(CLI::Range(1, 100000));
    app.add_option("--seed", seed, "generator seed");
    app.add_option("--task", task_name, "chart, table, svg or all")
        ->check(CLI::IsMember({"chart", "table", "svg", "all"}));
    app.add_flag("--json", json, "print the numbers as JSON");
    app.add_flag("--failures", failures, "list the triples that were not ranked correctly, with the errors found");
    app.add_option("--write", write_dir, "also write the triples (PNG + VC-RewardBench JSONL) under this directory");
    try {
      app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
      return app.exit(e);
    }

    std::vector<Task> tasks;
    if (task_name == "all")
      tasks = {Task::chart, Task::table, Task::svg};
    else
      tasks = {*visrl::render::parse_render_kind(task_name)};

    const visrl::reward::PixelCriticOptions options;
    const visrl::reward::eval::CompareFn compare = [&](Task task, const auto& reference, const auto& rendered) {
      return visrl::reward::pixel_compare(task, reference, rendered, options);
    };
    EvaluationSummary pooled;
    pooled.name = "pooled";
    std::vector<EvaluationSummary> summaries;
    for (Task task : tasks) {
      EvaluationSummary summary;
      summary.name = std::string(visrl::render::to_string(task));
      for (int i = 0; i < n; ++i) {
        // One triple at a time: a few hundred charts would not fit in memory at once.
        const auto triples = visrl::reward::eval::generate_triples(task, 1, seed, {}, i);
        const auto outcome = visrl::reward::eval::evaluate_triple(triples[0], compare);
        summary.add(outcome, triples[0]);
        pooled.add(outcome, triples[0]);
        if (!write_dir.empty()) {
          visrl::reward::eval::TripleWriteOptions write;
          write.append = !(task == tasks.front() && i == 0);
          visrl::reward::eval::write_triples(write_dir, triples, write);
        }
        if (failures && outcome.ranking != visrl::reward::eval::Ranking::correct) print_failure(outcome, triples[0]);
      }
      summaries.push_back(summary);
    }

    if (json) {
      nlohmann::json out = {{"seed", seed}, {"triples_per_task", n}, {"tasks", nlohmann::json::object()}};
      for (const auto& s : summaries) out["tasks"][s.name] = to_json(s);
      out["pooled"] = to_json(pooled);
      fmt::print("{}\n", out.dump(2));
      return 0;
    }
    fmt::print("pixel critic on synthetic triples: {} per task, seed {}\n", n, seed);
    fmt::print("{:<7} {:>7} {:>10} {:>6} {:>8} {:>8} {:>7} {:>6} {:>6} {:>8} {:>9}\n", "task", "triples", "ranked",
               "ties", "inverted", "clean>0", "F1", "P", "R", "pearson", "ms/corr.");
    for (const auto& s : summaries) print(s);
    if (summaries.size() > 1) print(pooled);
    fmt::print("\ncategory F1 (pooled counts per task):\n");
    for (const auto& s : summaries)
      for (const auto& [name, c] : s.per_category)
        fmt::print("  {:<6} {:<18} F1 {:.3f}  (tp {}, fp {}, fn {})\n", s.name, name, c.f1(), c.true_positives,
                   c.false_positives, c.false_negatives);
    return 0;
  });
}
