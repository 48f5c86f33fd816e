#include "trainer/loop/validator.h"

#include <chrono>

#include <spdlog/spdlog.h>

#include "trainer/distributed/rank_errors.h"
#include "trainer/loop/validation.h"

namespace visrl::trainer {
namespace {
using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}
}  // namespace

Validator::Validator(const Config& config, const RunDir& run_dir, Communicator& comm, std::vector<DataItem> items,
                     ValidationDeps deps)
    : config_(config),
      run_dir_(run_dir),
      comm_(comm),
      items_(std::move(items)),
      deps_(deps),
      best_(config, run_dir, comm) {}

bool Validator::before_and_after() const {
  return config_.validation.before_and_after && !items_.empty();
}

bool Validator::due_at(int64_t step) const {
  const int64_t every = config_.validation.every_steps;
  return every > 0 && !items_.empty() && step % every == 0;
}

nlohmann::json Validator::run(int64_t step) {
  const auto& [deps, assets, instructions, formula] = deps_;
  if (last_ && last_->first == step) return last_->second;
  const auto start = Clock::now();
  if (prompts_.empty()) {
    for (const auto& item : items_) {
      prompts_.push_back(prepare_prompt(item, assets, instructions, config_.data.max_prompt_tokens));
    }
  }
  std::vector<const PreparedPrompt*> prompts;
  for (const auto& p : prompts_) prompts.push_back(&p);
  const auto options = validation_options(rollout_options(config_, assets, deps.model.config), config_.validation);
  const auto outcome = validate(deps, options, prompts, comm_, formula, config_.algorithm);
  on_every_rank(
      comm_, "writing the validation results",
      [&] {
        if (comm_.is_main()) write_validation(run_dir_.root(), step, outcome);
      },
      ErrorKind::io);
  if (comm_.is_main() && !outcome.metrics.contains("skipped")) {
    spdlog::info("validation after step {}: reward {:.3f}, render {:.2f} on {} held-out items (greedy, {:.1f} s)", step,
                 outcome.metrics.value("reward_mean", 0.0), outcome.metrics.value("render_ok_rate", 0.0),
                 prompts.size(), seconds_since(start));
  }
  last_.emplace(step, outcome.metrics);
  best_.consider(step, outcome.metrics, deps.model);
  return outcome.metrics;
}

void Validator::write_summary(int64_t last_step) {
  const auto after = run(last_step);
  if (!comm_.is_main()) return;
  // "before" was measured at step 0 of this run directory, possibly by an earlier process.
  std::optional<nlohmann::json> before;
  try {
    if (auto m = read_validation(run_dir_.root(), 0)) before = summary_entry(0, *m);
  } catch (const std::exception& e) {
    spdlog::warn("the validation before the first step cannot be read: {}", e.what());
  }
  if (!before)
    spdlog::warn("no validation before the first step in {}: summary.json has no \"before\"",
                 (run_dir_.root() / "validation").string());
  try {
    const auto summary = trainer::write_summary(run_dir_.root(), before, summary_entry(last_step, after));
    for (const auto& line : summary_table(summary)) spdlog::info("{}", line);
    spdlog::info("summary written to {}", (run_dir_.root() / "summary.json").string());
  } catch (const std::exception& e) {
    spdlog::error("writing summary.json failed: {}", e.what());
  }
}

}  // namespace visrl::trainer
