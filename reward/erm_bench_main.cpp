// build/bin/erm-bench: a critic evaluated on VC-RewardBench-format data (REFERENCE.md section
// 5, reward/eval/erm_bench.h): F1h, F1s and Sc per category (chart, table, svg), per error
// type and pooled.
//
//   erm-bench --data vc_rewardbench/triples.jsonl --critic pixel
//   erm-bench --data bench.jsonl --critic openai --config c.yaml --set reward.openai.endpoints=[...]
//   erm-bench --data bench.jsonl --predictions out/predictions.jsonl --judge llm --config judge.yaml
//
// The critic's errors are matched to the human errors by the built-in matcher (description
// and location similarity; --yes-threshold, --partial-threshold) or, with --judge llm, by an
// LLM behind the reward.openai endpoints (--judge-model overrides reward.openai.model).
// --predictions re-scores saved critic outputs instead of running a critic. --out writes
// predictions.jsonl (each item's errors and matches; usable as --predictions) and summary.json.
//
// Exit codes: 0 evaluated, 1 runtime failure, 2 usage, configuration or data error.
#include <iostream>

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>

#include "core/atomic_file.h"
#include "core/config.h"
#include "core/error.h"
#include "core/logging.h"
#include "core/program.h"
#include "render/png_io.h"
#include "reward/eval/erm_bench.h"
#include "reward/eval/llm_judge.h"
#include "reward/formula/rollout_record.h"
#include "reward/make_critic.h"

namespace {

using namespace visrl;
using namespace visrl::reward::eval;
namespace fs = std::filesystem;

struct Options {
  std::string data, critic, config, predictions, judge = "builtin", judge_model, out;
  std::vector<std::string> overrides;
  MatcherOptions matcher;
  int64_t batch = 16;
  bool json = false;
};

// Runs the critic over the items, `batch` at a time (images are read per batch).
std::map<std::string, CriticVerdict> run_critic(const std::vector<BenchItem>& items, const Config& config,
                                                int64_t batch) {
  auto critic = reward::make_critic(config);
  std::map<std::string, CriticVerdict> out;
  for (size_t start = 0; start < items.size(); start += static_cast<size_t>(batch)) {
    const size_t end = std::min(items.size(), start + static_cast<size_t>(batch));
    std::vector<render::RgbImage> refs(end - start), preds(end - start);
    std::vector<reward::CriticItem> batch_items;
    std::vector<size_t> sent;
    for (size_t i = start; i < end; ++i) {
      try {
        refs[i - start] = render::read_png(items[i].gt_image);
        preds[i - start] = render::read_png(items[i].pred_image);
      } catch (const std::exception& e) {
        out[items[i].id] = {false, {}, fmt::format("{}: {}", items[i].where, e.what())};
        spdlog::warn("{}: image not readable, counted as unscored: {}", items[i].where, e.what());
        continue;
      }
      batch_items.push_back({items[i].id, items[i].category, &refs[i - start], &preds[i - start], ""});
      sent.push_back(i);
    }
    if (batch_items.empty()) continue;
    const auto results = critic->score(batch_items);
    for (size_t k = 0; k < sent.size(); ++k) {
      const auto& r = results[k];
      out[items[sent[k]].id] = {r.status == reward::CriticStatus::scored, r.errors, r.message};
    }
    spdlog::info("critic {}: {}/{} items", critic->name(), end, items.size());
  }
  return out;
}

std::vector<std::vector<ErrorMatch>> judge_matches(const std::vector<BenchItem>& items,
                                                   const std::map<std::string, CriticVerdict>& verdicts,
                                                   const Options& opt, const Config& config, int64_t* fallbacks) {
  // Groups: (item, type) with errors on both sides; indices map back to the item's lists.
  std::vector<JudgeGroup> groups;
  std::vector<std::tuple<size_t, std::vector<size_t>, std::vector<size_t>>> origin;
  for (size_t i = 0; i < items.size(); ++i) {
    const auto& predicted = verdicts.at(items[i].id).errors;
    std::map<std::string, std::pair<std::vector<size_t>, std::vector<size_t>>> by_type;
    for (size_t p = 0; p < predicted.size(); ++p) by_type[normalize_type(predicted[p].category)].first.push_back(p);
    for (size_t h = 0; h < items[i].human.size(); ++h) by_type[items[i].human[h].type].second.push_back(h);
    for (const auto& [type, idx] : by_type) {
      if (idx.first.empty() || idx.second.empty()) continue;
      JudgeGroup g{items[i].id, type, {}, {}};
      for (size_t p : idx.first) g.predicted.push_back(predicted[p]);
      for (size_t h : idx.second) g.human.push_back(items[i].human[h]);
      groups.push_back(std::move(g));
      origin.emplace_back(i, idx.first, idx.second);
    }
  }
  JudgeOptions judge;
  const auto& o = config.reward.openai;
  judge.endpoints = o.endpoints;
  judge.model = opt.judge_model.empty() ? o.model : opt.judge_model;
  judge.api_key_env = o.api_key_env;
  judge.timeout_s = o.timeout_s;
  judge.max_retries = o.max_retries;
  judge.max_concurrency = o.max_concurrency;
  spdlog::info("judge {}: {} groups of same-type errors", judge.model, groups.size());
  const auto outcomes = judge_groups(groups, judge, opt.matcher);
  std::vector<std::vector<ErrorMatch>> matches(items.size());
  for (size_t k = 0; k < groups.size(); ++k) {
    const auto& [item, p_index, h_index] = origin[k];
    *fallbacks += !outcomes[k].judged;
    for (auto m : outcomes[k].matches) {
      m.predicted = p_index[m.predicted];
      m.human = h_index[m.human];
      matches[item].push_back(m);
    }
  }
  return matches;
}

int run(const Options& opt) {
  if (opt.judge != "builtin" && opt.judge != "llm")
    fail(ErrorKind::usage, "--judge: expected builtin or llm, got \"{}\"", opt.judge);
  if (!(opt.matcher.partial_threshold <= opt.matcher.yes_threshold))
    fail(ErrorKind::usage, "--partial-threshold ({}) must not exceed --yes-threshold ({})",
         opt.matcher.partial_threshold, opt.matcher.yes_threshold);
  Config config = load_config(opt.config, opt.overrides).config;
  if (!opt.critic.empty()) config.reward.critic = opt.critic;
  logging::set_level(opt.json ? "warn" : config.logging.level);

  const auto items = load_bench(opt.data);
  const auto verdicts =
      opt.predictions.empty() ? run_critic(items, config, opt.batch) : load_predictions(opt.predictions, items);
  int64_t fallbacks = 0;
  std::vector<std::vector<ErrorMatch>> matches(items.size());
  if (opt.judge == "llm") {
    matches = judge_matches(items, verdicts, opt, config, &fallbacks);
  } else {
    for (size_t i = 0; i < items.size(); ++i)
      matches[i] = builtin_match(verdicts.at(items[i].id).errors, items[i].human, opt.matcher);
  }

  BenchSummary summary;
  std::string lines;
  for (size_t i = 0; i < items.size(); ++i) {
    const auto& v = verdicts.at(items[i].id);
    const auto score = score_item(v.errors, items[i].human, matches[i]);
    summary.add(items[i].category, score, v.scored);
    nlohmann::json m = nlohmann::json::array();
    for (const auto& x : matches[i])
      m.push_back({{"predicted", x.predicted}, {"human", x.human}, {"level", std::string(to_string(x.level))}});
    nlohmann::json line = {{"id", items[i].id},
                           {"scored", v.scored},
                           {"errors", reward::errors_to_json(v.errors)},
                           {"matches", m},
                           {"predicted_severity", score.predicted_severity},
                           {"human_severity", score.human_severity}};
    if (!v.message.empty()) line["message"] = v.message;
    lines += line.dump() + "\n";
  }
  nlohmann::json result = summary.to_json();
  result["data"] = opt.data;
  result["critic"] = opt.predictions.empty() ? config.reward.critic : "predictions " + opt.predictions;
  result["judge"] = opt.judge;
  result["judge_fallbacks"] = fallbacks;
  result["matcher"] = {{"yes_threshold", opt.matcher.yes_threshold},
                       {"partial_threshold", opt.matcher.partial_threshold},
                       {"location_weight", opt.matcher.location_weight}};
  if (!opt.out.empty()) {
    fs::create_directories(opt.out);
    write_file_atomically(fs::path(opt.out) / "predictions.jsonl", lines);
    write_file_atomically(fs::path(opt.out) / "summary.json", result.dump(1) + "\n");
  }
  if (opt.json) {
    std::cout << result.dump(2) << "\n";
    return 0;
  }
  std::cout << fmt::format(
      "{}: {} items, critic {}, matching {}{}\n", opt.data, items.size(), result["critic"].get<std::string>(),
      opt.judge, fallbacks > 0 ? fmt::format(" ({} groups fell back to the built-in matcher)", fallbacks) : "");
  for (const auto& line : summary.table()) std::cout << line << "\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"visrl erm-bench: a critic's F1h, F1s and Sc on VC-RewardBench-format data"};
  Options opt;
  app.add_option("--data", opt.data, "VC-RewardBench JSONL (gt_img_path, pred_img_path, category, human_errors)")
      ->required();
  app.add_option("--critic", opt.critic, "pixel, visual_erm or openai (default: the config's reward.critic)");
  app.add_option("--config", opt.config, "YAML config (critic and judge endpoints, prompts)");
  app.add_option("--set", opt.overrides, "Override one config key")
      ->allow_extra_args(false)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  app.add_option("--predictions", opt.predictions, "Saved critic outputs (predictions.jsonl) instead of a critic");
  app.add_option("--judge", opt.judge, "builtin (text similarity) or llm (reward.openai endpoints)");
  app.add_option("--judge-model", opt.judge_model, "Model name for --judge llm (default reward.openai.model)");
  app.add_option("--yes-threshold", opt.matcher.yes_threshold, "Built-in matcher: similarity for a yes match")
      ->check(CLI::Range(0.0, 1.0));
  app.add_option("--partial-threshold", opt.matcher.partial_threshold,
                 "Built-in matcher: similarity for a partial match")
      ->check(CLI::Range(0.0, 1.0));
  app.add_option("--batch", opt.batch, "Items per critic call")->check(CLI::PositiveNumber);
  app.add_option("--out", opt.out, "Directory for predictions.jsonl and summary.json");
  app.add_flag("--json", opt.json, "Print summary.json instead of the table");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  return visrl::run_program([&] { return run(opt); });
}
