// build/bin/eval's work: one greedy answer per item of a data set from a policy checkpoint,
// rendered, judged by a critic (any backend), rewarded by the formula and measured with the
// task metrics (task_metrics.h). The rollout pipeline of validation, so eval and validation
// inside train give the same numbers for the same policy, data and settings.
//
// Files (rank 0) in out_dir:
//   items.jsonl   one rollout record per item (rollout_record.h) plus "metrics": TaskScores
//   summary.json  {"model", "data", "critic", "formula", "items", "seconds",
//                  "metrics": {validation's keys}, "tasks": TaskMetricsSummary::to_json()}
//   references/   reference images drawn from ground truth for items without an image
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/config.h"
#include "trainer/distributed/communicator.h"
#include "trainer/eval/task_metrics.h"

namespace visrl::trainer {

struct EvalOptions {
  Config config;                  // model.path, render, reward (critic, formula), rollout budget
  std::vector<std::string> data;  // manifests or folders, as data.val
  std::filesystem::path out_dir;  // items.jsonl, summary.json
  int64_t max_items = 0;          // 0 = all
  int64_t max_new_tokens = 0;     // 0 = rollout.max_new_tokens
};

struct EvalResult {
  nlohmann::json summary;  // summary.json's content
  TaskMetricsSummary tasks;
};

// The policy of --model: a checkpoint step_<N> holds it in model/; anything else is taken as a
// Hugging Face directory.
std::filesystem::path policy_model_dir(const std::filesystem::path& given);

// Collective when launched on several ranks (each answers its share). Throws Error naming the
// item for bad data, Error(runtime) when the critic was unavailable.
EvalResult evaluate_policy(const EvalOptions& options, Communicator& comm);

}  // namespace visrl::trainer
