// build/bin/refine: test-time reflection with critic feedback (trainer/eval/refine.h): draft,
// render, critic, revise, for up to --rounds revisions (default 3) or until the reward reaches
// --threshold (or the critic finds nothing). Prints the score of every round.
//
//   refine --model runs/x/final --image chart.png --task chart
//   refine --model runs/x/final --data data/val.jsonl --max-items 20 --critic openai --config c.yaml
//
// --model is a Hugging Face directory or a training checkpoint (its model/); --config / --set
// configure the critic, formula, rendering and rollout.max_new_tokens as for train. --out
// writes rounds.jsonl (every round's record of every item) and summary.json.
//
// Exit codes: 0 done, 1 runtime failure, 2 usage or configuration error.
#include <iostream>
#include <memory>

#include <unistd.h>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "core/atomic_file.h"
#include "core/config.h"
#include "core/device.h"
#include "core/error.h"
#include "core/logging.h"
#include "core/program.h"
#include "trainer/data/folder_dataset.h"
#include "trainer/data/parquet_dataset.h"
#include "trainer/data/reference_images.h"
#include "trainer/eval/evaluate.h"
#include "trainer/eval/greedy_scorer.h"
#include "trainer/eval/refine.h"

namespace {

using namespace visrl;
namespace fs = std::filesystem;

struct Options {
  std::string model, image, task, critic, formula, config, out;
  std::vector<std::string> data, overrides;
  int64_t max_items = 0, max_new_tokens = 0;
  trainer::RefineOptions refine;
  double threshold = 0;
  bool json = false;
};

std::string round_cell(const reward::RolloutRecord& r) {
  const auto& s = r.sample;
  std::string what;
  if (s.render_status != render::RenderStatus::ok) {
    what = std::string(render::to_string(s.render_status));
  } else if (s.critic_status != reward::CriticStatus::scored) {
    what = std::string(reward::to_string(s.critic_status));
  } else {
    what = fmt::format("{} err, S {}", s.errors.size(), reward::severity_sum(s.errors));
  }
  return fmt::format("{:.3f} ({})", r.reward.value_or(0.0), what);
}

int run(Options opt) {
  if (opt.data.empty() == opt.image.empty()) fail(ErrorKind::usage, "give either --data or --image (with --task)");
  Config config = load_config(opt.config, opt.overrides).config;
  config.model.path = trainer::policy_model_dir(opt.model).string();
  if (!opt.critic.empty()) config.reward.critic = opt.critic;
  if (!opt.formula.empty()) config.reward.formula = opt.formula;
  logging::set_level(opt.json ? "warn" : config.logging.level);

  std::vector<trainer::DataItem> items;
  fs::path scratch;  // extracted and rasterised references, removed however refine ends
  const std::unique_ptr<fs::path, void (*)(fs::path*)> remove_scratch(&scratch, [](fs::path* p) {
    std::error_code ec;
    if (!p->empty()) fs::remove_all(*p, ec);
  });
  if (!opt.image.empty()) {
    const auto task = render::parse_render_kind(opt.task);
    if (!task) fail(ErrorKind::usage, "--task: expected chart, table or svg with --image, got \"{}\"", opt.task);
    trainer::DataItem item;
    item.id = fs::path(opt.image).stem().string();
    item.task = *task;
    item.image = opt.image;
    item.where = "--image " + opt.image;
    items.push_back(item);
  } else {
    items = trainer::load_data(opt.data, trainer::parse_invalid_rows(config.data.invalid_rows), config.data.columns);
    if (opt.max_items > 0 && static_cast<int64_t>(items.size()) > opt.max_items)
      items.resize(static_cast<size_t>(opt.max_items));
    // Images embedded in Parquet files and PDF references become files of a temporary folder,
    // removed at the end.
    scratch = fs::temp_directory_path() / fmt::format("visrl-refine-{}", getpid());
    trainer::extract_cell_images(items, scratch);
    trainer::rasterize_pdf_references(items, scratch, config.data.pdf_dpi);
    for (const auto& item : items) {
      if (item.image_missing)
        fail(ErrorKind::usage, "{}: item \"{}\" has no image file; refine needs the reference image", item.where,
             item.id);
    }
  }

  trainer::GreedyScorer scorer(config, resolve_device(config.model.device, "model.device"), opt.max_new_tokens);
  const auto refined = trainer::refine(scorer.deps, scorer.greedy, scorer.assets, scorer.instructions, items,
                                       scorer.formula, config.algorithm, opt.refine);
  scorer.pool.shutdown();

  auto summary = trainer::refine_summary(refined);
  summary["model"] = config.model.path;
  summary["critic"] = scorer.critic->name();
  summary["formula"] = scorer.formula.name();
  summary["max_rounds"] = opt.refine.rounds;
  summary["threshold"] = opt.refine.threshold ? nlohmann::json(*opt.refine.threshold) : nlohmann::json(nullptr);
  if (!opt.out.empty()) {
    std::string lines;
    for (const auto& item : refined) {
      for (size_t r = 0; r < item.rounds.size(); ++r) {
        auto j = reward::to_json(item.rounds[r].record);
        j["round"] = r;
        j["best"] = r == item.best;
        lines += j.dump() + "\n";
      }
    }
    fs::create_directories(opt.out);
    write_file_atomically(fs::path(opt.out) / "rounds.jsonl", lines);
    write_file_atomically(fs::path(opt.out) / "summary.json", summary.dump(1) + "\n");
  }
  if (opt.json) {
    std::cout << summary.dump(2) << "\n";
    return 0;
  }
  for (const auto& item : refined) {
    std::string line = fmt::format("{:<16}", item.id);
    for (size_t r = 0; r < item.rounds.size(); ++r)
      line += fmt::format("  r{} {}", r, round_cell(item.rounds[r].record));
    std::cout << line << fmt::format("  -> best r{}, stopped: {}\n", item.best, item.stopped);
  }
  std::cout << fmt::format("\n{:<6} {:>9} {:>12} {:>8} {:>9}\n", "round", "answered", "reward_mean", "render",
                           "severity");
  auto row = [](const std::string& name, const nlohmann::json& j, const std::string& answered) {
    return fmt::format("{:<6} {:>9} {:>12.4f} {:>8.3f} {:>9}\n", name, answered, j["reward_mean"].get<double>(),
                       j["render_ok_rate"].get<double>(),
                       j["severity_mean"].is_null() ? "-" : fmt::format("{:.2f}", j["severity_mean"].get<double>()));
  };
  for (const auto& r : summary["rounds"])
    std::cout << row(std::to_string(r["round"].get<int64_t>()), r, std::to_string(r["answered"].get<int64_t>()));
  std::cout << row("best", summary["final"], "");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"visrl refine: draft, render, critic, revise with the critic's feedback"};
  Options opt;
  app.add_option("--model", opt.model, "Policy: a Hugging Face directory or a checkpoint step_<N>")->required();
  app.add_option("--data", opt.data, "JSONL manifest or data folder (repeatable)");
  app.add_option("--image", opt.image, "One reference image (with --task)");
  app.add_option("--task", opt.task, "chart, table or svg (with --image)");
  app.add_option("--max-items", opt.max_items, "Refine the first N items; 0 = all")->check(CLI::NonNegativeNumber);
  app.add_option("--rounds", opt.refine.rounds, "Revisions after the draft")->check(CLI::Range(0, 100));
  app.add_option("--threshold", opt.threshold, "Stop an item once its reward reaches this");
  app.add_option("--critic", opt.critic, "pixel, visual_erm or openai (default: the config's reward.critic)");
  app.add_option("--formula", opt.formula, "Preset or muparser expression (default: the config's reward.formula)");
  app.add_option("--config", opt.config, "YAML config (critic, formula, render and rollout settings)");
  app.add_option("--set", opt.overrides, "Override one config key")
      ->allow_extra_args(false)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  app.add_option("--max-new-tokens", opt.max_new_tokens, "Longest answer; 0 = rollout.max_new_tokens")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--out", opt.out, "Directory for rounds.jsonl and summary.json");
  app.add_flag("--json", opt.json, "Print summary.json instead of the tables");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  if (app.count("--threshold") > 0) opt.refine.threshold = opt.threshold;
  return visrl::run_program([&] { return run(opt); });
}
