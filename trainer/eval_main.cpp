// build/bin/eval: a policy's greedy answers to a data set, rendered and measured: render rate,
// the critic's score (any backend) and the task metrics (tables TEDS / TEDS-S / normalised
// edit distance, SVG SSIM / pixel MSE, charts SSIM), per task and pooled.
//
//   eval --model runs/x/final --data data/val.jsonl
//   eval --model runs/x/checkpoints/step_300 --data a.jsonl --data b.jsonl --critic openai
//        --config configs/chart2code.yaml --set reward.openai.endpoints=[http://h:8000/v1] --json
//
// --model is a Hugging Face directory or a training checkpoint (its model/). --config / --set
// configure the critic, the formula, rendering and rollout.max_new_tokens as for train; without
// --config the defaults (configs/defaults.yaml) apply. Writes items.jsonl (one record per item
// with its metrics) and summary.json to --out (default eval/<model>-<data>), prints the table
// (or summary.json with --json).
//
// Exit codes: 0 evaluated, 1 runtime failure, 2 usage or configuration error.
#include <cstdlib>
#include <iostream>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "core/config.h"
#include "core/device.h"
#include "core/logging.h"
#include "core/program.h"
#include "trainer/distributed/communicator.h"
#include "trainer/distributed/launch_env.h"
#include "trainer/eval/evaluate.h"

namespace {

namespace fs = std::filesystem;

struct Options {
  std::string model, critic, formula, config, out;
  std::vector<std::string> data, overrides;
  int64_t max_items = 0;
  int64_t max_new_tokens = 0;
  bool json = false;
};

fs::path default_out(const fs::path& model, const std::string& data) {
  auto name = [](fs::path p) {
    while (!p.empty() && (p.filename().empty() || p.filename() == "." || p.filename() == "model")) p = p.parent_path();
    return p.stem().string();
  };
  return fs::path("eval") /
         fmt::format("{}-{}", name(fs::absolute(model).lexically_normal()), fs::path(data).stem().string());
}

int run(const Options& opt) {
  using namespace visrl;
  LoadedConfig loaded = load_config(opt.config, opt.overrides);
  trainer::EvalOptions options;
  options.config = loaded.config;
  options.config.model.path = trainer::policy_model_dir(opt.model).string();
  if (!opt.critic.empty()) options.config.reward.critic = opt.critic;
  if (!opt.formula.empty()) options.config.reward.formula = opt.formula;
  options.data = opt.data;
  options.out_dir = opt.out.empty() ? default_out(opt.model, opt.data.front()) : fs::path(opt.out);
  options.max_items = opt.max_items;
  options.max_new_tokens = opt.max_new_tokens;
  logging::set_level(opt.json ? "warn" : options.config.logging.level);

  const auto env = trainer::launch_env([](const char* name) { return std::getenv(name); });
  auto comm =
      trainer::Communicator::create(env, options.config.distributed.backend, options.config.distributed.timeout_s,
                                    resolve_device(options.config.model.device, "model.device"));
  const auto result = trainer::evaluate_policy(options, *comm);
  if (!comm->is_main()) return 0;
  if (opt.json) {
    std::cout << result.summary.dump(2) << "\n";
    return 0;
  }
  const auto& m = result.summary["metrics"];
  std::cout << fmt::format("{} on {} items: critic {}, formula {}, {:.1f} s\n", options.config.model.path,
                           result.summary["items"].get<int64_t>(), result.summary["critic"].get<std::string>(),
                           result.summary["formula"].get<std::string>(), result.summary["seconds"].get<double>());
  for (const auto& line : result.tasks.table()) std::cout << line << "\n";
  std::cout << fmt::format("critic: {} parse failure(s); reward_std {:.4f}\n", m.value("critic/parse_failures", 0),
                           m.value("reward_std", 0.0));
  std::cout << fmt::format("per-item records: {}\n", (options.out_dir / "items.jsonl").string());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"visrl eval: render rate, critic score and task metrics of a policy's greedy answers"};
  Options opt;
  app.add_option("--model", opt.model, "Policy: a Hugging Face directory or a checkpoint step_<N>")->required();
  app.add_option("--data", opt.data, "JSONL manifest or data folder (repeatable)")->required();
  app.add_option("--critic", opt.critic, "pixel, visual_erm or openai (default: the config's reward.critic)");
  app.add_option("--formula", opt.formula, "Preset or muparser expression (default: the config's reward.formula)");
  app.add_option("--config", opt.config, "YAML config (critic, formula, render and rollout settings)");
  app.add_option("--set", opt.overrides, "Override one config key, e.g. --set rollout.max_new_tokens=2048")
      ->allow_extra_args(false)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  app.add_option("--out", opt.out, "Directory for items.jsonl and summary.json (default eval/<model>-<data>)");
  app.add_option("--max-items", opt.max_items, "Evaluate the first N items; 0 = all")->check(CLI::NonNegativeNumber);
  app.add_option("--max-new-tokens", opt.max_new_tokens, "Longest answer; 0 = rollout.max_new_tokens")
      ->check(CLI::NonNegativeNumber);
  app.add_flag("--json", opt.json, "Print summary.json instead of the table");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  return visrl::run_program([&] { return run(opt); });
}
