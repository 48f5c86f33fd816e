#include "trainer/loop/step_metrics.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>

#include <fmt/format.h>

#include "core/atomic_file.h"
#include "core/error.h"
#include "reward/formula/rollout_record.h"
#include "trainer/algorithms/shaping.h"

namespace visrl::trainer {
namespace {

struct Summary {
  double mean = 0, std = 0, min = 0, max = 0;
};

Summary summarize(const std::vector<double>& v) {
  Summary s;
  if (v.empty()) return s;
  double sum = 0;
  for (double x : v) sum += x;
  s.mean = sum / static_cast<double>(v.size());
  double sq = 0;
  for (double x : v) sq += (x - s.mean) * (x - s.mean);
  s.std = v.size() > 1 ? std::sqrt(sq / static_cast<double>(v.size() - 1)) : 0.0;
  s.min = *std::min_element(v.begin(), v.end());
  s.max = *std::max_element(v.begin(), v.end());
  return s;
}

}  // namespace

void add_sample_metrics(nlohmann::json& m, const std::vector<RolloutSample>& samples, const BatchRewards& rewards) {
  const auto n = static_cast<double>(std::max<size_t>(samples.size(), 1));
  std::vector<double> reward_values, lengths;
  std::map<std::string, int64_t> render_counts, critic_counts, error_counts;
  std::map<std::string, std::pair<double, int64_t>> components;
  int64_t render_ok = 0, parse_failures = 0, truncated = 0;
  for (const auto& s : samples) {
    const auto& r = s.record;
    reward_values.push_back(r.reward.value_or(0.0));
    lengths.push_back(static_cast<double>(r.sample.response_len));
    render_counts[std::string(render::to_string(r.sample.render_status))]++;
    critic_counts[std::string(reward::to_string(r.sample.critic_status))]++;
    if (r.sample.render_status == render::RenderStatus::ok) ++render_ok;
    if (r.sample.critic_status == reward::CriticStatus::parse_failure) ++parse_failures;
    if (s.finish == policy::FinishReason::length) ++truncated;
    for (const auto& e : r.sample.errors) {
      error_counts["errors/" + e.category]++;
      error_counts[fmt::format("errors/severity_{}", e.severity)]++;
    }
    for (const auto& [name, value] : r.components) {
      auto& c = components[name];
      c.first += value;
      c.second += 1;
    }
  }
  const auto reward = summarize(reward_values);
  m["reward_mean"] = reward.mean;
  m["reward_std"] = reward.std;
  m["reward_min"] = reward.min;
  m["reward_max"] = reward.max;
  m["render_ok_rate"] = static_cast<double>(render_ok) / n;
  for (const auto& [k, v] : render_counts) m["render/" + k] = v;
  for (const auto& [k, v] : critic_counts) m["critic/" + k] = v;
  m["critic/parse_failures"] = parse_failures;
  for (const auto& [k, v] : error_counts) m[k] = v;
  for (const auto& [k, v] : components) m["components/" + k] = v.first / static_cast<double>(v.second);
  if (!samples.empty()) {
    auto informative = informative_groups(rewards.rewards.to(at::kFloat), rewards.group_ids);
    const auto groups = rewards.group_ids.max().item<int64_t>() + 1;
    // A group is informative when any of its answers is; count the groups that are not.
    auto per_group = at::zeros({groups}, at::kLong).index_add_(0, rewards.group_ids, informative.to(at::kLong));
    m["zero_variance_groups"] = (per_group == 0).sum().item<double>() / static_cast<double>(groups);
  }
  const auto len = summarize(lengths);
  m["response_len_mean"] = len.mean;
  m["response_len_min"] = len.min;
  m["response_len_max"] = len.max;
  m["response_truncated_rate"] = static_cast<double>(truncated) / n;
}

void add_advantage_metrics(nlohmann::json& m, const at::Tensor& advantages) {
  auto a = advantages.to(at::kDouble).contiguous();
  const auto s = summarize(std::vector<double>(a.data_ptr<double>(), a.data_ptr<double>() + a.numel()));
  m["advantage_mean"] = s.mean;
  m["advantage_std"] = s.std;
  m["advantage_min"] = s.min;
  m["advantage_max"] = s.max;
}

void add_update_metrics(nlohmann::json& m, const UpdateStats& g, bool has_reference) {
  const double tokens = std::max(g.tokens, 1.0);
  m["pg_loss"] = g.pg_loss_sum / tokens;
  m["entropy"] = g.entropy_sum / tokens;
  m["kl"] = has_reference ? nlohmann::json(g.kl_sum / tokens) : nlohmann::json(nullptr);
  m["ppo_kl"] = g.ppo_kl_sum / tokens;
  m["clip_frac"] = g.clipped / tokens;
  m["dual_clip_frac"] = g.dual_clipped / tokens;
  m["grad_norm"] = g.grad_norm;
  m["optimizer_steps"] = g.optimizer_steps;
  // Updates not applied because a loss or gradient was NaN/inf (optim.max_bad_steps).
  m["bad_updates"] = g.skipped_steps;
  m["bad_step"] = g.skipped_steps > 0 ? 1 : 0;
  m["trained_tokens"] = g.tokens;
  // Micro-batches (the first epoch's): the share of computed positions that were padding, and
  // the sequences' own tokens per micro-batch (algorithm.max_tokens_per_micro_batch).
  if (g.padded_tokens > 0) m["update/padding_fraction"] = 1.0 - g.sequence_tokens / g.padded_tokens;
  if (g.micro_batches > 0) m["update/tokens_per_micro_batch"] = g.sequence_tokens / g.micro_batches;
  // Generation-time vs training-time log-probs of the same tokens under the same weights.
  if (g.rollout_tokens > 0) {
    m["rollout/logprob_diff_mean"] = g.logprob_diff_sum / g.rollout_tokens;
    m["rollout/logprob_diff_max"] = g.logprob_diff_max;
    if (g.is_weight_sum > 0) m["rollout/is_weight_mean"] = g.is_weight_sum / g.rollout_tokens;
  }
}

UpdateStats reduce_update_stats(Communicator& comm, const UpdateStats& local) {
  auto sums =
      comm.all_reduce_sum({local.tokens, local.pg_loss_sum, local.entropy_sum, local.kl_sum, local.ppo_kl_sum,
                           local.clipped, local.dual_clipped, local.rollout_tokens, local.logprob_diff_sum,
                           local.is_weight_sum, local.micro_batches, local.sequence_tokens, local.padded_tokens});
  UpdateStats g = local;
  g.tokens = sums[0];
  g.pg_loss_sum = sums[1];
  g.entropy_sum = sums[2];
  g.kl_sum = sums[3];
  g.ppo_kl_sum = sums[4];
  g.clipped = sums[5];
  g.dual_clipped = sums[6];
  g.rollout_tokens = sums[7];
  g.logprob_diff_sum = sums[8];
  g.is_weight_sum = sums[9];
  g.micro_batches = sums[10];
  g.sequence_tokens = sums[11];
  g.padded_tokens = sums[12];
  g.logprob_diff_max = comm.all_reduce_max(local.logprob_diff_max);
  return g;
}

void append_metrics_line(const std::filesystem::path& path, const nlohmann::json& metrics) {
  std::ofstream out(path, std::ios::app);
  out << metrics.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << '\n';
  out.flush();
  if (!out) fail(ErrorKind::io, "{}: cannot append the step's metrics", path.string());
}

void write_rollout_log(const std::filesystem::path& path, const std::vector<RolloutSample>& samples) {
  std::string text;
  for (const auto& s : samples) {
    text += reward::to_json(s.record).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    text += '\n';
  }
  std::filesystem::create_directories(path.parent_path());
  write_file_atomically(path, text);
}

}  // namespace visrl::trainer
