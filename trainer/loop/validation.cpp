#include "trainer/loop/validation.h"

#include <algorithm>
#include <set>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "core/atomic_file.h"
#include "core/json_file.h"
#include "trainer/eval/task_metrics.h"
#include "trainer/loop/batch_rewards.h"
#include "trainer/loop/policy_setup.h"
#include "trainer/loop/sample_exchange.h"
#include "trainer/loop/step_metrics.h"

namespace visrl::trainer {
namespace {

std::filesystem::path validation_path(const std::filesystem::path& run_dir, int64_t step, const char* ext) {
  return run_dir / "validation" / fmt::format("step_{}.{}", step, ext);
}

}  // namespace

RolloutOptions validation_options(RolloutOptions training, const ValidationConfig& validation) {
  // As many answers decoded together as in training (generate.decode_slots, unchanged).
  training.generate.group_size = 1;
  training.generate.sampling.greedy = true;
  training.image_metrics = true;  // a fidelity number that does not depend on the critic
  if (validation.max_new_tokens > 0) training.generate.max_new_tokens = validation.max_new_tokens;
  return training;
}

size_t validation_size(size_t available, const ValidationConfig& validation) {
  if (validation.max_items <= 0) return available;
  return std::min(available, static_cast<size_t>(validation.max_items));
}

ValidationOutcome validate(const RolloutDeps& deps, const RolloutOptions& options,
                           const std::vector<const PreparedPrompt*>& prompts, Communicator& comm,
                           reward::RewardFormula& formula, AlgorithmConfig algorithm) {
  const auto [lo, hi] = rank_slice(static_cast<int64_t>(prompts.size()), comm.rank(), comm.world_size());
  std::vector<const PreparedPrompt*> mine(prompts.begin() + lo, prompts.begin() + hi);
  std::vector<int64_t> slots;
  for (int64_t i = lo; i < hi; ++i) slots.push_back(i);
  ValidationOutcome out;
  std::vector<RolloutSample> local;
  bool unavailable = false;
  try {
    local = run_rollouts(deps, options, mine, slots, /*step=*/0, nullptr);
  } catch (const reward::CriticUnavailable& e) {
    spdlog::warn("validation: critic unavailable ({}); no numbers this time", e.what());
    unavailable = true;
  }
  if (comm.all_reduce_max(unavailable ? 1.0 : 0.0) > 0) {
    out.metrics["skipped"] = "critic_unavailable";
    return out;
  }
  out.samples = gather_samples(comm, std::move(local));
  algorithm.overlong_buffer = 0;
  const auto rewards = score_samples(formula, out.samples, algorithm, options.generate.max_new_tokens);
  add_sample_metrics(out.metrics, out.samples, rewards);
  out.metrics["items"] = out.samples.size();
  double ssim_sum = 0;
  for (const auto& s : out.samples) ssim_sum += s.record.sample.ssim.value_or(0.0);
  out.metrics["ssim_mean"] = out.samples.empty() ? 0.0 : ssim_sum / static_cast<double>(out.samples.size());
  // A policy that ignores the image answers every item alike: the share of distinct answers.
  std::set<std::string> answers;
  for (const auto& s : out.samples) answers.insert(s.record.sample.answer_code.value_or(s.record.answer));
  out.metrics["distinct_answer_rate"] =
      out.samples.empty() ? 0.0 : static_cast<double>(answers.size()) / static_cast<double>(out.samples.size());
  TaskMetricsSummary tasks;
  for (const auto& s : out.samples) tasks.add(s.record.sample.task, task_scores(s.record));
  out.metrics.update(tasks.flat());
  return out;
}

void write_validation(const std::filesystem::path& run_dir, int64_t step, const ValidationOutcome& outcome) {
  write_rollout_log(validation_path(run_dir, step, "jsonl"), outcome.samples);
  auto metrics = outcome.metrics;
  metrics["step"] = step;
  write_file_atomically(validation_path(run_dir, step, "json"), metrics.dump(1) + "\n");
}

std::optional<nlohmann::json> read_validation(const std::filesystem::path& run_dir, int64_t step) {
  const auto path = validation_path(run_dir, step, "json");
  if (!std::filesystem::exists(path)) return std::nullopt;
  return read_json_file(path, "validation metrics");
}

nlohmann::json summary_entry(int64_t step, const nlohmann::json& metrics) {
  nlohmann::json e = {{"step", step}};
  if (metrics.contains("skipped")) {
    e["skipped"] = metrics["skipped"];
    return e;
  }
  for (const char* key : {"items", "reward_mean", "reward_std", "render_ok_rate", "ssim_mean", "chart/type_match",
                          "chart/series_match", "chart/color_match", "distinct_answer_rate"}) {
    if (metrics.contains(key)) e[key] = metrics[key];
  }
  return e;
}

nlohmann::json write_summary(const std::filesystem::path& run_dir, const std::optional<nlohmann::json>& before,
                             const std::optional<nlohmann::json>& after) {
  nlohmann::json summary = {{"before", before ? *before : nlohmann::json(nullptr)},
                            {"after", after ? *after : nlohmann::json(nullptr)}};
  write_file_atomically(run_dir / "summary.json", summary.dump(1) + "\n");
  return summary;
}

std::vector<std::string> summary_table(const nlohmann::json& summary) {
  auto cell = [&](const char* when, const char* key, const char* format) -> std::string {
    const auto& e = summary.value(when, nlohmann::json(nullptr));
    if (!e.is_object() || !e.contains(key) || !e[key].is_number()) return "-";
    return fmt::format(fmt::runtime(format), e[key].get<double>());
  };
  auto step = [&](const char* when) -> std::string {
    const auto& e = summary.value(when, nlohmann::json(nullptr));
    return e.is_object() ? fmt::format("step {}", e.value("step", int64_t{0})) : "-";
  };
  const auto& before = summary.value("before", nlohmann::json(nullptr));
  const auto& after = summary.value("after", nlohmann::json(nullptr));
  const int64_t items = after.is_object() ? after.value("items", int64_t{0})
                                          : (before.is_object() ? before.value("items", int64_t{0}) : 0);
  std::vector<std::string> lines = {
      fmt::format("held-out prompts ({} items, greedy)  {:>9}  {:>9}", items, "before", "after"),
      fmt::format("{:<34}  {:>9}  {:>9}", "", step("before"), step("after")),
      fmt::format("{:<34}  {:>9}  {:>9}", "reward_mean", cell("before", "reward_mean", "{:.3f}"),
                  cell("after", "reward_mean", "{:.3f}")),
      fmt::format("{:<34}  {:>9}  {:>9}", "render_ok_rate", cell("before", "render_ok_rate", "{:.2f}"),
                  cell("after", "render_ok_rate", "{:.2f}")),
      fmt::format("{:<34}  {:>9}  {:>9}", "ssim_mean (0 when not rendered)", cell("before", "ssim_mean", "{:.3f}"),
                  cell("after", "ssim_mean", "{:.3f}")),
  };
  // Charts with ground-truth code: does the answer draw what the image shows?
  for (const char* key : {"chart/type_match", "chart/series_match", "chart/color_match", "distinct_answer_rate"}) {
    if (cell("before", key, "{}") == "-" && cell("after", key, "{}") == "-") continue;
    lines.push_back(
        fmt::format("{:<34}  {:>9}  {:>9}", key, cell("before", key, "{:.3f}"), cell("after", key, "{:.3f}")));
  }
  return lines;
}

}  // namespace visrl::trainer
