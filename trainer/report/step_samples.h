// What the metrics backends (TensorBoard, W&B) show of a step beyond its metrics: histograms of
// the rewards, advantages and response lengths of all its samples, and, every
// logging.images_every steps, the first kLoggedRollouts rendered answers rank 0 holds as
// "reference | render" images, each with a text of its answer's code and the critic's findings.
// Rank 0 only.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "core/config.h"
#include "render/render_types.h"
#include "trainer/loop/rollout_sample.h"
#include "trainer/report/metrics_backend.h"

namespace visrl::trainer {

inline constexpr int kLoggedRollouts = 8;

// `reference_of(sample)`: the prompt's reference image file ("" when there is none).
void log_step_samples(MetricsBackend& backend, const LoggingConfig& logging, int64_t step,
                      const std::vector<RolloutSample>& samples,
                      const std::function<std::filesystem::path(const RolloutSample&)>& reference_of);

// a and b next to each other on white, top-aligned, with a 8-pixel gap.
render::RgbImage side_by_side(const render::RgbImage& a, const render::RgbImage& b);

// The markdown of one rollout: id, task, reward, advantage, statuses, the code, the findings.
std::string rollout_markdown(const RolloutSample& s);

}  // namespace visrl::trainer
