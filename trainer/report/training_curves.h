// The training curve PNG of a run: one panel per metric (reward, render rate, KL by default)
// against the step, drawn with cairo from metrics.jsonl, with axes, tick labels and the last
// value. Panels of metrics that have no numbers yet (KL without a reference model) say so.
#pragma once

#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "render/render_types.h"

namespace visrl::trainer {

struct CurveSeries {
  std::string name;                               // the metrics key, shown as the panel title
  std::vector<std::pair<double, double>> points;  // (step, value), in step order
};

// keys -> one series each, from the lines of a metrics.jsonl (null and missing values skipped).
// Throws Error(io/format) naming the file and line of an unreadable line.
std::vector<CurveSeries> curves_from_metrics(const std::filesystem::path& metrics,
                                             const std::vector<std::string>& keys);

// Panels stacked vertically in a width x height image.
render::RgbImage draw_training_curves(const std::vector<CurveSeries>& series, int width = 900, int height = 720);

// curves_from_metrics + draw + PNG, written atomically. Returns the PNG path.
std::filesystem::path write_training_curves(const std::filesystem::path& run_dir,
                                            const std::vector<std::string>& keys = {"reward_mean", "render_ok_rate",
                                                                                    "kl"});

}  // namespace visrl::trainer
