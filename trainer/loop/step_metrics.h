// What a step reports: per-sample statistics of the global batch (identical on every rank)
// and the update's statistics (reduced across ranks), as one JSON object per step.
#pragma once

#include <filesystem>
#include <vector>

#include <ATen/ATen.h>
#include <nlohmann/json.hpp>

#include "trainer/loop/batch_rewards.h"
#include "trainer/loop/ppo_update.h"
#include "trainer/loop/rollout_sample.h"

namespace visrl::trainer {

// reward_mean/std/min/max, render_ok_rate, render/<status>, critic/<status>,
// critic/parse_failures, errors/<category>, errors/severity_<k>, components/<name> (means),
// zero_variance_groups (share), response_len_mean/min/max, response_truncated_rate.
void add_sample_metrics(nlohmann::json& m, const std::vector<RolloutSample>& samples, const BatchRewards& rewards);

// advantage_mean/std/min/max over the trained samples.
void add_advantage_metrics(nlohmann::json& m, const at::Tensor& advantages);

// pg_loss, entropy, kl (null without a reference model), ppo_kl, clip_frac, dual_clip_frac,
// grad_norm, optimizer_steps, and rollout/logprob_diff_mean and _max (|generation - update|
// log-prob per token; rollout/is_weight_mean with rollout correction) when the generation's
// log-probs are known; `global` holds the stats summed over ranks.
void add_update_metrics(nlohmann::json& m, const UpdateStats& global, bool has_reference);

// The update stats of every rank, summed (grad_norm and step counts are the same on all).
UpdateStats reduce_update_stats(Communicator& comm, const UpdateStats& local);

// Appends one step's metrics as a line of <run_dir>/metrics.jsonl (invalid UTF-8 replaced),
// flushed; Error(io) naming the file when it cannot (train and sft).
void append_metrics_line(const std::filesystem::path& path, const nlohmann::json& metrics);

// Writes the samples' rollout records as JSON lines to `path` (atomically, creating its folder;
// invalid UTF-8 replaced): rollouts/step_N.jsonl and validation/step_N.jsonl.
void write_rollout_log(const std::filesystem::path& path, const std::vector<RolloutSample>& samples);

}  // namespace visrl::trainer
