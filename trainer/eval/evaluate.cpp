#include "trainer/eval/evaluate.h"

#include <chrono>

#include <spdlog/spdlog.h>

#include "core/atomic_file.h"
#include "core/error.h"
#include "policy/model/hf_checkpoint.h"
#include "render/render_pool.h"
#include "reward/formula/reward_formula.h"
#include "reward/make_critic.h"
#include "trainer/data/folder_dataset.h"
#include "trainer/data/reference_images.h"
#include "trainer/distributed/rank_errors.h"
#include "trainer/loop/policy_setup.h"
#include "trainer/loop/prepared_prompt.h"
#include "trainer/loop/rollout_pipeline.h"
#include "trainer/loop/validation.h"

namespace visrl::trainer {

std::filesystem::path policy_model_dir(const std::filesystem::path& given) {
  if (std::filesystem::exists(given / "model" / "config.json")) return given / "model";
  return given;
}

EvalResult evaluate_policy(const EvalOptions& options, Communicator& comm) {
  const auto start = std::chrono::steady_clock::now();
  const Config& c = options.config;
  if (options.data.empty()) fail(ErrorKind::usage, "no data: give at least one manifest (--data)");
  auto items = load_data(options.data, parse_invalid_rows(c.data.invalid_rows));
  if (options.max_items > 0 && static_cast<int64_t>(items.size()) > options.max_items)
    items.resize(static_cast<size_t>(options.max_items));

  const auto device = training_device(c, comm);
  policy::LoadOptions load;
  load.device = device;
  load.dtype = training_dtype(c, device);
  const auto assets = load_policy_assets(c);
  auto policy = policy::load_pretrained(c.model.path, load);
  policy->eval();
  const auto instructions = TaskInstructions::load(c.data.prompt_dir);

  render::RenderPool pool(render::pool_options_from(c.render));
  prepare_references(items, comm, c.render, options.out_dir / "references", &pool);
  auto critic = reward::make_critic(c);
  auto formula = reward::RewardFormula::compile(reward::FormulaSpec::from_config(c.reward));

  std::vector<PreparedPrompt> prepared;
  for (const auto& item : items)
    prepared.push_back(prepare_prompt(item, assets, instructions, c.data.max_prompt_tokens));
  std::vector<const PreparedPrompt*> prompts;
  for (const auto& p : prepared) prompts.push_back(&p);

  ValidationConfig greedy;
  greedy.max_new_tokens = options.max_new_tokens;
  const RolloutDeps deps{*policy, assets.tokenizer, pool, *critic, c.render};
  const auto rollout = validation_options(rollout_options(c, assets, policy->config), greedy);
  spdlog::info("evaluating {} on {} items (greedy, at most {} new tokens), critic {}", c.model.path, items.size(),
               rollout.generate.max_new_tokens, critic->name());
  const auto outcome = validate(deps, rollout, prompts, comm, formula, c.algorithm);
  pool.shutdown();
  if (outcome.metrics.contains("skipped"))
    fail(ErrorKind::runtime, "the critic ({}) was unavailable: no evaluation", critic->name());

  EvalResult result;
  std::string lines;
  for (const auto& s : outcome.samples) {
    const auto scores = task_scores(s.record);
    result.tasks.add(s.record.sample.task, scores);
    auto line = reward::to_json(s.record);
    line["metrics"] = to_json(scores);
    lines += line.dump() + "\n";
  }
  result.summary = {{"model", c.model.path},
                    {"data", options.data},
                    {"critic", critic->name()},
                    {"formula", formula.name()},
                    {"items", outcome.samples.size()},
                    {"max_new_tokens", rollout.generate.max_new_tokens},
                    {"seconds", std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count()},
                    {"metrics", outcome.metrics},
                    {"tasks", result.tasks.to_json()}};
  on_every_rank(
      comm, "writing the evaluation",
      [&] {
        if (!comm.is_main()) return;
        std::filesystem::create_directories(options.out_dir);
        write_file_atomically(options.out_dir / "items.jsonl", lines);
        write_file_atomically(options.out_dir / "summary.json", result.summary.dump(1) + "\n");
      },
      ErrorKind::io);
  return result;
}

}  // namespace visrl::trainer
