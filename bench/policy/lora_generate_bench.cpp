// Rollout speed of a LoRA policy: generation tokens/s of the base model alone, of the same model
// with LoRA adapters merged for the rollout (LoraMerged: merge, generate, read the base back;
// what the trainer does, all of it timed), and with the adapters left unmerged (two extra
// matmuls per projection), in one process on the same prompt, printed as one JSON line with
// the ratios. The merged row is the one that must stay within 10 % of the base. The merge and
// the base's read-back are also timed alone (merge_restore_s): a fixed cost per rollout that
// the generation's length amortizes.
//   lora_generate_bench --model DIR --image PNG [--dtype float32] [--n 4] [--max-new-tokens 64] [--rank 16]
//                       [--repeat 3] [--threads 2]
// Adapters: all-linear without the vision tower (the trainer's default), A and B random so the
// merge changes the weights.
#include <algorithm>
#include <chrono>
#include <functional>
#include <iostream>
#include <optional>

#include <ATen/Parallel.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "core/program.h"
#include "policy/generate/engine.h"
#include "policy/generate/prompt.h"
#include "policy/image/image_processor.h"
#include "policy/model/hf_checkpoint.h"
#include "policy/model/lora.h"

namespace {

struct Options {
  std::string model, image, dtype, prompt = "Write matplotlib code that draws this chart.";
  int64_t n = 4, max_new_tokens = 64, rank = 16;
  int repeat = 3, threads = 2;
};

double seconds_of(const std::function<void()>& body) {
  const auto t0 = std::chrono::steady_clock::now();
  body();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

int run(const Options& opt) {
  using namespace visrl::policy;
  at::set_num_threads(opt.threads);
  LoadOptions load;
  if (!opt.dtype.empty()) load.dtype = dtype_from_name(opt.dtype, "--dtype");
  auto model = load_pretrained(opt.model, load);
  const auto assets = PolicyAssets::load(opt.model);
  const auto prompt = build_prompt(assets, opt.prompt, {read_image(opt.image)}, "bench");
  GenerateOptions o;
  o.group_size = opt.n;
  o.max_new_tokens = opt.max_new_tokens;
  o.sampling.temperature = 1.0;
  o.eos_token_ids = {};  // every sample runs to max_new_tokens
  o.pad_token_id = assets.pad_token_id;
  const auto generate_once = [&] { generate(*model, {prompt}, o); };

  enum class Mode { base, merged, unmerged, merge_restore };
  const auto timed = [&](Mode mode) {
    return seconds_of([&] {
      std::optional<LoraDisabled> off;
      std::optional<LoraMerged> merged;
      if (mode == Mode::base) off.emplace(*model);
      if (mode == Mode::merged || mode == Mode::merge_restore) merged.emplace(*model);
      if (mode != Mode::merge_restore) generate_once();
    });  // the merged row includes the merge and reading the base back
  };
  LoraSpec spec;
  spec.rank = opt.rank;
  spec.alpha = 2.0 * static_cast<double>(opt.rank);
  spec.target_modules = {"all-linear"};
  spec.exclude_regex = kVisionModulesRegex;
  const auto adapted = add_lora(*model, spec, 0);
  {
    at::NoGradGuard no_grad;
    for (auto& [name, t] : lora_parameters(*model)) t.normal_(0.0, 0.01);
  }
  at::NoGradGuard no_grad;
  generate_once();  // warm-up
  double best[4] = {1e30, 1e30, 1e30, 1e30};
  for (int r = 0; r < opt.repeat; ++r) {  // interleaved, so drift in the machine's speed hits all modes
    for (auto mode : {Mode::base, Mode::merged, Mode::unmerged, Mode::merge_restore}) {
      auto& b = best[static_cast<int>(mode)];
      b = std::min(b, timed(mode));
    }
  }
  const double tokens = static_cast<double>(opt.n * opt.max_new_tokens);
  nlohmann::json out = {{"model", opt.model},
                        {"dtype", dtype_name(model->dtype())},
                        {"threads", opt.threads},
                        {"n", opt.n},
                        {"max_new_tokens", opt.max_new_tokens},
                        {"prompt_tokens", prompt.input_ids.numel()},
                        {"rank", opt.rank},
                        {"adapted_layers", adapted.size()},
                        {"repeat", opt.repeat},
                        {"base_tokens_per_s", tokens / best[0]},
                        {"merged_tokens_per_s", tokens / best[1]},
                        {"unmerged_tokens_per_s", tokens / best[2]},
                        {"merge_restore_s", best[3]},
                        {"merged_over_base", best[0] / best[1]},
                        {"merged_without_merge_over_base", best[0] / std::max(best[1] - best[3], 1e-9)},
                        {"unmerged_over_base", best[0] / best[2]}};
  std::cout << out.dump() << "\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"tokens/s of generation with LoRA merged, unmerged and without"};
  Options opt;
  app.add_option("--model", opt.model, "Hugging Face Qwen3-VL directory")->required();
  app.add_option("--image", opt.image, "Prompt image")->required();
  app.add_option("--dtype", opt.dtype, "bfloat16 | float32 (default: the checkpoint's)");
  app.add_option("--n", opt.n, "Samples per prompt (G)");
  app.add_option("--max-new-tokens", opt.max_new_tokens, "Tokens per sample");
  app.add_option("--rank", opt.rank, "LoRA rank");
  app.add_option("--repeat", opt.repeat, "Timed calls per mode (best kept)");
  app.add_option("--threads", opt.threads, "Intra-op threads");
  CLI11_PARSE(app, argc, argv);
  return visrl::run_program([&] { return run(opt); });
}
