// build/bin/generate: sample answers from a Qwen3-VL checkpoint directory for one prompt.
//   generate --model DIR [--image IMG] --prompt TEXT [--n G] [--temperature T] [--greedy]
//            [--max-new-tokens N] [--seed S] [--json]
// With --json, one JSON object per sample: {"token_ids": [...], "text": "...", "finish_reason": "..."}
// (token_ids are the generated tokens only; text is decoded without special tokens).
#include <cstdio>
#include <iostream>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "core/device.h"
#include "core/program.h"
#include "policy/generate/engine.h"
#include "policy/generate/prompt.h"
#include "policy/image/image_processor.h"
#include "policy/model/hf_checkpoint.h"
#include "policy/model/lora.h"

namespace {

struct Options {
  std::string model, image, prompt, device = "auto", dtype = "auto";
  int64_t n = 1, max_new_tokens = 256, top_k = 0;
  double temperature = 1.0, top_p = 1.0, min_p = 0.0, repetition_penalty = 1.0, presence_penalty = 0.0;
  bool greedy = false, json = false;
  uint64_t seed = 0;
  std::vector<std::string> stop;
};

int run(const Options& opt) {
  using namespace visrl::policy;
  visrl::policy::LoadOptions load;
  load.device = visrl::resolve_device(opt.device, "--device");
  if (opt.dtype != "auto") load.dtype = dtype_from_name(opt.dtype, "--dtype");
  auto model = load_pretrained(opt.model, load);  // a LoRA adapter directory: its base with the adapters
  merge_lora_into_base(*model);                   // nothing trains here: plain matmuls
  auto assets = PolicyAssets::load(opt.model);
  std::vector<at::Tensor> images;
  if (!opt.image.empty()) images.push_back(read_image(opt.image));
  auto prompt = build_prompt(assets, opt.prompt, images, "prompt");

  GenerateOptions o;
  o.group_size = opt.n;
  o.max_new_tokens = opt.max_new_tokens;
  o.sampling.greedy = opt.greedy;
  o.sampling.temperature = opt.temperature;
  o.sampling.top_k = opt.top_k;
  o.sampling.top_p = opt.top_p;
  o.sampling.min_p = opt.min_p;
  o.sampling.repetition_penalty = opt.repetition_penalty;
  o.sampling.presence_penalty = opt.presence_penalty;
  o.eos_token_ids = assets.eos_token_ids;
  o.pad_token_id = assets.pad_token_id;
  o.stop_strings = opt.stop;
  o.seed = opt.seed;
  auto samples = generate(*model, {prompt}, o, &assets.tokenizer);
  for (size_t i = 0; i < samples.size(); ++i) {
    const auto& s = samples[i];
    std::vector<int32_t> ids(s.token_ids.begin(), s.token_ids.end());
    const auto text = assets.tokenizer.decode(ids, /*skip_special_tokens=*/true);
    if (opt.json) {
      nlohmann::json line = {{"token_ids", s.token_ids}, {"text", text},
                             {"finish_reason", finish_reason_name(s.finish_reason)}};
      std::cout << line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
    } else {
      std::cout << "--- sample " << i << " (" << finish_reason_name(s.finish_reason) << ", " << s.token_ids.size()
                << " tokens)\n"
                << text << "\n";
    }
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"visrl generate: sample answers from a Qwen3-VL checkpoint"};
  Options opt;
  app.add_option("--model", opt.model, "Hugging Face checkpoint directory")->required();
  app.add_option("--image", opt.image, "PNG or JPEG image shown before the prompt");
  app.add_option("--prompt", opt.prompt, "User prompt text")->required();
  app.add_option("--n", opt.n, "Samples (the group size G)")->check(CLI::PositiveNumber);
  app.add_option("--temperature", opt.temperature, "Sampling temperature");
  app.add_option("--top-k", opt.top_k, "Keep the k most likely tokens (0 = off)");
  app.add_option("--top-p", opt.top_p, "Nucleus sampling threshold (1 = off)");
  app.add_option("--min-p", opt.min_p, "Drop tokens below min_p x the top probability (0 = off)");
  app.add_option("--repetition-penalty", opt.repetition_penalty, "Hugging Face repetition penalty (1 = off)");
  app.add_option("--presence-penalty", opt.presence_penalty, "Presence penalty (0 = off)");
  app.add_flag("--greedy", opt.greedy, "Argmax decoding");
  app.add_option("--max-new-tokens", opt.max_new_tokens, "Token budget per sample")->check(CLI::PositiveNumber);
  app.add_option("--stop", opt.stop, "Stop string (repeatable)")->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  app.add_option("--seed", opt.seed, "Sampling seed");
  app.add_option("--device", opt.device, "auto, cpu, cuda or cuda:N");
  app.add_option("--dtype", opt.dtype, "auto (the checkpoint's), bfloat16, float16 or float32");
  app.add_flag("--json", opt.json, "One JSON object per sample");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  return visrl::run_program([&] { return run(opt); });
}
