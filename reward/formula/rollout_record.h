// One line of <run_dir>/rollouts/step_<N>.jsonl: everything needed to recompute a sample's
// reward offline (build/bin/ablate) without running the critic again.
//
//   {"step": 3, "id": "p17/2", "prompt_id": "p17", "task": "chart", "answer": "...",
//    "response_len": 311, "max_len": 8192,
//    "render": {"status": "ok", "reason": ""},
//    "critic": {"status": "scored", "errors": [{"category", "severity", "location",
//               "description"}], "raw": "...", "parse": {"status", "dropped", "repairs",
//               "message"}, "attempts": 1, "latency_ms": 812.5, "message": ""},
//    "answer_code": "...", "ground_truth": "...", "ssim": 0.87,      (optional)
//    "mse": 0.012,                                                   (optional)
//    "reward": 1.92, "components": {...}, "advantage": 0.61}           (optional)
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "reward/formula/sample_outcome.h"

namespace visrl::reward {

struct RolloutRecord {
  int64_t step = 0;
  SampleOutcome sample;  // id, group (= prompt_id), task, statuses, errors, lengths, term inputs
  std::string answer;
  std::string render_reason;
  CriticResult critic;        // status, errors (also in sample), raw text, parse report, attempts, latency
  std::optional<double> mse;  // pixel MSE of render and reference (metrics/pixel_mse.h), when measured
  std::optional<double> reward;
  std::map<std::string, double> components;
  std::optional<double> advantage;
};

nlohmann::json to_json(const RolloutRecord& record);
// Critic errors as the record's "critic.errors" holds them: [{category, severity, location, description}].
nlohmann::json errors_to_json(const std::vector<CriticError>& errors);
// Throws Error(format) "<where>: <key>: what is wrong" (where = "file:line").
RolloutRecord rollout_record_from_json(const nlohmann::json& line, const std::string& where);

// Every record of `path`: a step_<N>.jsonl file, or a directory of them (read in step
// order). Throws Error(io/format) naming the file and line of a bad record.
std::vector<RolloutRecord> read_rollouts(const std::filesystem::path& path);

}  // namespace visrl::reward
