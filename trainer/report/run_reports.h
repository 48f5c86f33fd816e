// What a training run leaves for people to look at, apart from metrics.jsonl: each step's
// rollout log and images (logging.log_rollouts, logging.images_every) and, at the end, the
// training curves and the rollout gallery. Rank 0 only.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <vector>

#include "core/config.h"
#include "core/run_dir.h"
#include "trainer/loop/rollout_sample.h"

namespace visrl::trainer {

// rollouts/step_<step>.jsonl and the renders of rollouts/step_<step>/ as configured.
void write_step_rollouts(const RunDir& run_dir, const LoggingConfig& logging, int64_t step,
                         const std::vector<RolloutSample>& samples);

// The training curves (from metrics.jsonl) and, with rollout logs, the gallery; `references`:
// item id -> its reference image.
void write_final_reports(const RunDir& run_dir, const LoggingConfig& logging,
                         const std::map<std::string, std::filesystem::path>& references);

}  // namespace visrl::trainer
