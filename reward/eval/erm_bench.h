// Evaluating a critic on VC-RewardBench-format data (REFERENCE.md section 5). Each JSONL line
// is one (reference, render) pair with human-annotated errors:
//   {"id": "chart-0001-light", "category": "chart", "gt_img_path": "images/a_ref.png",
//    "pred_img_path": "images/a_light.png",
//    "human_errors": [{"type": "data_error", "severity": 2, "description": "...", "location": "..."}]}
// (id and location optional; image paths relative to the file). The critic's errors are
// matched one-to-one to the human errors of the same type (error_matcher.h, llm_judge.h):
//   F1h = 2 yes / (predicted + human)                   ("yes" matches only)
//   F1s = 2 (yes + 0.5 partial) / (predicted + human)
// with counts pooled over items before the F1; Sc = Pearson correlation of the per-item
// severity sums (critic vs human). Reported per task category (chart, table, svg), per error
// type and pooled. An item the critic could not score counts as predicting no error.
#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "reward/critic.h"
#include "reward/eval/error_matcher.h"

namespace visrl::reward::eval {

struct BenchItem {
  std::string id;  // "id", else "<file>:<line>"
  Task category = Task::chart;
  std::filesystem::path gt_image;    // resolved
  std::filesystem::path pred_image;  // resolved
  std::vector<HumanError> human;
  std::string where;  // "file:line"
};

// Every line of `path`. Throws Error(format) "file:line: what" for a line that is not JSON, a
// missing or mistyped key, an unknown category, a type that is not a category of the item's
// task, a severity outside 1..3 or a duplicate id; Error(io) when the file cannot be read.
// Image files are not opened here.
std::vector<BenchItem> load_bench(const std::filesystem::path& path);

// What the critic said about one item.
struct CriticVerdict {
  bool scored = false;  // false: parse failure, unavailable, unreadable image (no errors)
  std::vector<CriticError> errors;
  std::string message;  // why not scored
};

// Counts of one group of items (a category, a type, or all), pooled.
struct MatchCounts {
  int64_t yes = 0;
  int64_t partial = 0;
  int64_t predicted = 0;
  int64_t human = 0;

  double f1_hard() const;  // 0 when there are no errors on either side
  double f1_soft() const;
  double precision_hard() const;  // yes / predicted; 0 without predictions
  double recall_hard() const;     // yes / human; 0 without human errors
  void add(const MatchCounts& other);
};

// One item's matching: counts overall and per (normalised) type.
struct ItemScore {
  MatchCounts counts;
  std::map<std::string, MatchCounts> per_type;
  int predicted_severity = 0;
  int human_severity = 0;
};
ItemScore score_item(const std::vector<CriticError>& predicted, const std::vector<HumanError>& human,
                     const std::vector<ErrorMatch>& matches);

class BenchSummary {
 public:
  void add(Task category, const ItemScore& score, bool scored);
  // {"pooled": {...}, "categories": {"chart": {...}, ...}, "types": {"chart/data_error": {...}}}
  // with {"items", "unscored", "f1_hard", "f1_soft", "precision_hard", "recall_hard", "sc",
  // "yes", "partial", "predicted", "human"}; sc is null with fewer than two items or a constant side.
  nlohmann::json to_json() const;
  std::vector<std::string> table() const;

 private:
  struct Group {
    int64_t items = 0;
    int64_t unscored = 0;
    MatchCounts counts;
    std::vector<double> predicted_severity, human_severity;
    nlohmann::json to_json() const;
  };
  std::map<std::string, Group> categories_;
  std::map<std::string, MatchCounts> types_;  // "<category>/<type>"
  Group pooled_;
};

// Saved critic outputs, one JSONL line per item, as erm-bench --out writes them:
//   {"id": ..., "scored": true, "errors": [{category, severity, location, description}]}
// or a raw critic answer {"id": ..., "raw": "..."} that goes through the tolerant parser.
// Throws Error(format) "file:line: what"; an item of `items` without a line is an error too.
std::map<std::string, CriticVerdict> load_predictions(const std::filesystem::path& path,
                                                      const std::vector<BenchItem>& items);

}  // namespace visrl::reward::eval
