// build/bin/score: one reference image, one rendered answer, one critic, one reward.
//
//   score --task chart --ref ref.png --pred pred.png --critic pixel [--formula paper] [--json]
//   score --task table --errors critic_output.json [--render-ok 0|1] [--formula released_table]
//
// --errors takes a critic's output (JSON, or text around JSON) instead of running a critic;
// it goes through the same tolerant parser as live critic output. --config/--set configure
// the visual_erm and openai critics (checkpoint path, endpoints) as for train.
//
// Exit codes: 0 scored (whatever the reward), 1 runtime failure, 2 usage or configuration error.
#include <cstdio>
#include <iostream>

#include <fmt/format.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "core/config.h"
#include "core/error.h"
#include "core/program.h"
#include "core/text_file.h"
#include "render/extract.h"
#include "render/png_io.h"
#include "reward/formula/reward_formula.h"
#include "reward/formula/rollout_record.h"
#include "reward/make_critic.h"
#include "reward/parser/critic_parser.h"

namespace {

using namespace visrl;

struct Options {
  std::string task, ref, pred, critic, formula, errors, config, answer, ground_truth;
  std::vector<std::string> overrides;
  int render_ok = 1;
  bool json = false;
};

int run(const Options& opt) {
  auto task = render::parse_render_kind(opt.task);
  if (!task) fail(ErrorKind::usage, "--task: expected chart, table or svg, got \"{}\"", opt.task);
  Config config = load_config(opt.config, opt.overrides).config;
  if (!opt.critic.empty()) config.reward.critic = opt.critic;
  if (!opt.formula.empty()) config.reward.formula = opt.formula;
  reward::RewardFormula formula = reward::RewardFormula::compile(reward::FormulaSpec::from_config(config.reward));

  render::RgbImage reference, rendered;
  if (!opt.ref.empty()) reference = render::read_png(opt.ref);
  const bool have_render = opt.render_ok != 0 && !opt.pred.empty();
  if (have_render) rendered = render::read_png(opt.pred);

  reward::SampleOutcome sample;
  sample.id = opt.pred.empty() ? "sample" : opt.pred;
  sample.group = "score";
  sample.task = *task;
  sample.render_status = render::RenderStatus::ok;
  if (opt.render_ok == 0) sample.render_status = render::RenderStatus::runtime_error;
  if (have_render && rendered.is_uniform()) sample.render_status = render::RenderStatus::blank_image;

  reward::CriticResult result;
  std::string critic_name = config.reward.critic;
  if (!opt.errors.empty()) {
    critic_name = "--errors " + opt.errors;
    result.raw_text = read_text_file(opt.errors, "the critic output (--errors)");
    reward::ParsedCritique parsed = reward::parse_critic_output(*task, result.raw_text);
    result.parse = parsed.report;
    result.errors = std::move(parsed.errors);
    result.attempts = 1;
    result.status = parsed.report.status == reward::ParseStatus::failed ? reward::CriticStatus::parse_failure
                                                                        : reward::CriticStatus::scored;
  } else {
    if (opt.ref.empty()) fail(ErrorKind::usage, "--ref is needed to run a critic (or give --errors)");
    if (opt.render_ok != 0 && opt.pred.empty()) fail(ErrorKind::usage, "--pred is needed unless --render-ok 0");
    if (sample.render_status == render::RenderStatus::ok) {
      auto critic = reward::make_critic(config);
      reward::CriticItem item{sample.id, *task, &reference, &rendered, ""};
      result = critic->score({item}).front();
    } else {
      result.status = reward::CriticStatus::not_scored;
      result.message = "the answer did not render";
    }
  }
  sample.critic_status = result.status;
  sample.errors = result.errors;
  if (!opt.answer.empty()) {
    auto code = render::extract_code(*task, read_text_file(opt.answer, "the answer (--answer)"));
    sample.answer_code = code ? code->code : "";
  }
  if (!opt.ground_truth.empty()) sample.reference_code = read_text_file(opt.ground_truth, "the ground truth");
  if (!reference.empty()) sample.reference_image = &reference;
  if (have_render) sample.rendered_image = &rendered;

  reward::SampleReward r = formula.evaluate({sample}).front();
  if (opt.json) {
    nlohmann::json out = {
        {"task", opt.task},
        {"critic", critic_name},
        {"critic_status", std::string(reward::to_string(result.status))},
        {"errors", reward::errors_to_json(result.errors)},
        {"raw", result.raw_text},
        {"parse",
         {{"status", std::string(reward::to_string(result.parse.status))},
          {"dropped", result.parse.dropped},
          {"repairs", result.parse.repairs},
          {"message", result.parse.message}}},
        {"latency_ms", result.latency_ms},
        {"formula", formula.name()},
        {"outcome", std::string(reward::to_string(r.outcome))},
        {"reward", r.reward},
        {"components", r.components},
    };
    std::cout << out.dump(2) << "\n";
    return 0;
  }
  std::cout << fmt::format("critic {}: {} ({} error(s), S = {}, {:.0f} ms)\n", critic_name,
                           reward::to_string(result.status), result.errors.size(), reward::severity_sum(result.errors),
                           result.latency_ms);
  if (!result.message.empty()) std::cout << "  " << result.message << "\n";
  if (result.parse.status != reward::ParseStatus::ok && !result.parse.message.empty())
    std::cout << "  parser: " << result.parse.message << "\n";
  for (const auto& e : result.errors)
    std::cout << fmt::format("  [{}] {:<17} {}{}\n", e.severity, e.category,
                             e.location.empty() ? "" : "(" + e.location + ") ", e.description);
  std::cout << fmt::format("formula {} = {}\noutcome {}\nreward {:.6g}\n", formula.name(), formula.expression(),
                           reward::to_string(r.outcome), r.reward);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"visrl score: critic errors and the reward of one rendered answer"};
  Options opt;
  app.add_option("--task", opt.task, "chart, table or svg")->required();
  app.add_option("--ref", opt.ref, "Reference image (PNG)");
  app.add_option("--pred", opt.pred, "Rendered answer (PNG)");
  app.add_option("--critic", opt.critic, "pixel, visual_erm or openai (default: the config's reward.critic)");
  app.add_option("--formula", opt.formula, "Preset or muparser expression (default: the config's reward.formula)");
  app.add_option("--errors", opt.errors, "A critic's output to score instead of running a critic");
  app.add_option("--render-ok", opt.render_ok, "0: the answer did not render (default 1)")
      ->check(CLI::IsMember({0, 1}));
  app.add_option("--answer", opt.answer, "The policy's answer (for the code_similarity and teds terms)");
  app.add_option("--ground-truth", opt.ground_truth, "The ground-truth code (for code_similarity and teds)");
  app.add_option("--config", opt.config, "YAML config (critic settings, formula, failure rewards)");
  app.add_option("--set", opt.overrides, "Override one config key: --set reward.openai.endpoints=[http://h:8000/v1]")
      ->allow_extra_args(false)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  app.add_flag("--json", opt.json, "Print the result as JSON");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  return visrl::run_program([&] { return run(opt); });
}
