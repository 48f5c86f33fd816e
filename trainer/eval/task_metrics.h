// The task metrics of REFERENCE.md section 5 for greedy answers: render rate and SSIM for
// every task, pixel MSE for SVG, TEDS / TEDS-S / normalised edit distance for tables, for
// charts with ground-truth code whether the answer draws the same kinds of plot, the same
// number of series (and bars / slices) and the reference's colours (reward/metrics/chart_code.h),
// with the critic's score (reward and severity sum) beside them. Used by build/bin/eval and by
// validation inside train. No LibTorch.
//
// Failures count, as the benchmarks count them: an answer that did not render has SSIM 0
// and MSE 1; a table answer without a table has TEDS 0 and edit distance 1 (against the
// ground truth; items without ground_truth have no text metrics).
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "reward/formula/rollout_record.h"

namespace visrl::trainer {

struct TaskScores {
  bool rendered = false;
  double ssim = 0;                      // render vs reference; 0 when not rendered
  std::optional<double> mse;            // SVG: pixel MSE in [0, 1]; 1 when not rendered
  std::optional<double> teds;           // tables with ground truth: structure and content
  std::optional<double> teds_s;         // structure only
  std::optional<double> edit_distance;  // normalised, answer code vs ground truth
  std::optional<double> type_match;     // charts with ground truth: 1 when the plot kinds agree, else 0
                                        // (0, 0, 0 when the answer did not render)
  std::optional<double> series_match;   // 1 when the series (and bars / slices) agree, else 0
  std::optional<double> color_match;    // share of the ground truth's colours the answer shows
  std::optional<int> severity;          // the critic's severity sum, when it scored the item
  std::optional<double> reward;         // the formula's reward, when computed
};

// From a record whose render was measured with image metrics on (RolloutOptions::image_metrics).
TaskScores task_scores(const reward::RolloutRecord& record);

nlohmann::json to_json(const TaskScores& scores);

// Means over items, per task and pooled. Each mean is over the items that have the metric;
// the "<metric>_items" count says how many that was when it differs from "items".
class TaskMetricsSummary {
 public:
  void add(render::RenderKind task, const TaskScores& scores);
  // {"chart": {...}, "table": {...}, "svg": {...}, "all": {...}}: only tasks that had items.
  //   {"items", "render_ok_rate", "ssim", "mse", "teds", "teds_s", "edit_distance",
  //    "type_match", "series_match", "color_match", "reward_mean", "severity_mean", ...}
  nlohmann::json to_json() const;
  // Flat keys for metrics lines: "<task>/<metric>" (e.g. "table/teds") and the pooled metrics
  // without a prefix ("teds", "mse", "severity_mean", ...), only for metrics some item has;
  // not the pooled items, render_ok_rate, reward_mean and ssim, which validation reports itself.
  nlohmann::json flat() const;
  // The printed table: one row per task and a pooled row.
  std::vector<std::string> table() const;

 private:
  struct Means {
    int64_t items = 0;
    int64_t rendered = 0;
    std::map<std::string, std::pair<double, int64_t>> sums;  // metric -> (sum, count)
    void add(const TaskScores& scores);
    nlohmann::json to_json() const;
  };
  std::map<std::string, Means> tasks_;
  Means all_;
};

}  // namespace visrl::trainer
