#include "trainer/eval/evaluate.h"

#include <chrono>

#include <spdlog/spdlog.h>

#include "core/atomic_file.h"
#include "core/error.h"
#include "policy/model/lora_checkpoint.h"
#include "trainer/data/folder_dataset.h"
#include "trainer/data/reference_images.h"
#include "trainer/distributed/rank_errors.h"
#include "trainer/eval/greedy_scorer.h"
#include "trainer/loop/policy_setup.h"
#include "trainer/loop/prepared_prompt.h"
#include "trainer/loop/validation.h"

namespace visrl::trainer {

std::filesystem::path policy_model_dir(const std::filesystem::path& given) {
  if (std::filesystem::exists(given / "model" / "config.json") || policy::is_adapter_dir(given / "model"))
    return given / "model";  // a checkpoint (a LoRA one holds an adapter directory)
  return given;
}

EvalResult evaluate_policy(const EvalOptions& options, Communicator& comm) {
  const auto start = std::chrono::steady_clock::now();
  const Config& c = options.config;
  if (options.data.empty()) fail(ErrorKind::usage, "no data: give at least one manifest (--data)");
  auto items = load_data(options.data, parse_invalid_rows(c.data.invalid_rows), c.data.columns);
  if (options.max_items > 0 && static_cast<int64_t>(items.size()) > options.max_items)
    items.resize(static_cast<size_t>(options.max_items));

  GreedyScorer scorer(c, training_device(c, comm), options.max_new_tokens);
  prepare_references(items, comm, c.render, options.out_dir / "references", c.data.pdf_dpi, &scorer.pool);

  std::vector<PreparedPrompt> prepared;
  for (const auto& item : items)
    prepared.push_back(prepare_prompt(item, scorer.assets, scorer.instructions, c.data.max_prompt_tokens));
  std::vector<const PreparedPrompt*> prompts;
  for (const auto& p : prepared) prompts.push_back(&p);

  spdlog::info("evaluating {} on {} items (greedy, at most {} new tokens), critic {}", c.model.path, items.size(),
               scorer.greedy.generate.max_new_tokens, scorer.critic->name());
  const auto outcome = validate(scorer.deps, scorer.greedy, prompts, comm, scorer.formula, c.algorithm);
  scorer.pool.shutdown();
  if (outcome.metrics.contains("skipped"))
    fail(ErrorKind::runtime, "the critic ({}) was unavailable: no evaluation", scorer.critic->name());

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
                    {"critic", scorer.critic->name()},
                    {"formula", scorer.formula.name()},
                    {"items", outcome.samples.size()},
                    {"max_new_tokens", scorer.greedy.generate.max_new_tokens},
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
