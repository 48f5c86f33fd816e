// Rollout and training-forward speed of visrl's policy on the CPU, printed as one JSON line.
//   policy_bench_main --model DIR --image PNG --prompt TEXT [--n 8] [--max-new-tokens 64]
//                     [--mode generate|logprobs] [--repeat 3] [--threads 1]
//                     [--response-ids FILE] [--dump-prompt FILE]
// generate: G = --n samples of exactly max_new_tokens each (no eos ids, temperature 1, no
//   top-k/top-p), one warm-up call then the best of --repeat; also the best prefill-only time
//   (the same call with max_new_tokens = 1) so decode = total - prefill.
// logprobs: forward_logprobs on G rows of prompt + a fixed response of max_new_tokens ids (read
//   from --response-ids, a JSON array, else uniform random ids below the vision special tokens,
//   seed 0), the image repeated for every row; seconds per call, best of --repeat, and the
//   vision tower's share (vision_seconds).
// bench/policy/policy_bench.py runs this next to transformers on the same inputs.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <functional>
#include <iostream>

#include <ATen/Parallel.h>
#include <c10/core/InferenceMode.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "bench/timing.h"
#include "core/error.h"
#include "core/program.h"
#include "policy/generate/engine.h"
#include "policy/generate/logprobs.h"
#include "policy/generate/prompt.h"
#include "policy/image/image_processor.h"
#include "policy/model/hf_checkpoint.h"

namespace {

struct Options {
  std::string model, image, prompt, mode = "generate", response_ids, dump_prompt;
  int64_t n = 8, max_new_tokens = 64;
  int repeat = 3, threads = 1;
};

using visrl::bench::best_of;

int run(const Options& opt) {
  using namespace visrl::policy;
  at::set_num_threads(opt.threads);
  auto model = load_pretrained(opt.model);
  model->eval();
  const auto assets = PolicyAssets::load(opt.model);
  const auto prompt = build_prompt(assets, opt.prompt, {read_image(opt.image)}, "bench");
  const auto& cfg = model->config;
  const int64_t G = opt.n, N = opt.max_new_tokens, P = prompt.input_ids.numel();
  const int64_t image_tokens = prompt.input_ids.eq(cfg.image_token_id).sum().item<int64_t>();
  if (!opt.dump_prompt.empty()) {
    const auto ids = prompt.input_ids.contiguous();
    std::ofstream(opt.dump_prompt)
        << nlohmann::json(std::vector<int64_t>(ids.data_ptr<int64_t>(), ids.data_ptr<int64_t>() + P)).dump();
  }
  nlohmann::json out = {
      {"impl", "visrl"},     {"mode", opt.mode},   {"threads", opt.threads},       {"n", G},
      {"max_new_tokens", N}, {"prompt_tokens", P}, {"image_tokens", image_tokens}, {"repeat", opt.repeat}};

  if (opt.mode == "generate") {
    GenerateOptions o;
    o.group_size = G;
    o.max_new_tokens = N;
    o.sampling.temperature = 1.0;  // plain sampling from the full distribution; no eos ids:
    o.eos_token_ids = {};          // every sample runs to exactly max_new_tokens
    o.pad_token_id = assets.pad_token_id;
    GenerateStats stats;
    int64_t tokens = 0;
    uint64_t seed = 0;
    const double seconds = best_of(opt.repeat, [&] {
      o.seed = seed++;
      auto samples = generate(*model, {prompt}, o, nullptr, &stats);
      tokens = 0;
      for (const auto& s : samples) tokens += static_cast<int64_t>(s.token_ids.size());
    });
    auto prefill_opts = o;
    prefill_opts.max_new_tokens = 1;
    const double prefill = best_of(opt.repeat, [&] { generate(*model, {prompt}, prefill_opts); });
    // What G independent sequences (no shared prompt; HF generate with num_return_sequences)
    // would hold at their fullest: per layer a key and a value tensor of
    // [G, kv_heads, prompt_len + max_new, head_dim] in the model's dtype. Computed from the
    // config, not measured.
    const int64_t independent = cfg.text.num_hidden_layers * 2 * G * (P + N) * cfg.text.num_key_value_heads *
                                cfg.text.head_dim * static_cast<int64_t>(c10::elementSize(model->dtype()));
    out["seconds"] = seconds;
    out["tokens"] = tokens;
    out["tokens_per_s"] = static_cast<double>(tokens) / seconds;
    out["prefill_seconds"] = prefill;
    out["decode_seconds"] = seconds - prefill;
    out["decode_steps"] = stats.decode_steps;
    out["kv_cache_bytes"] = stats.kv_cache_bytes;
    out["kv_cache_bytes_independent"] = independent;
  } else if (opt.mode == "logprobs") {
    at::Tensor response;
    if (!opt.response_ids.empty()) {
      std::ifstream in(opt.response_ids);
      if (!in) visrl::fail(visrl::ErrorKind::io, "{}: cannot open", opt.response_ids);
      response = at::tensor(nlohmann::json::parse(in).get<std::vector<int64_t>>(), at::kLong);
      if (response.numel() != N) {
        visrl::fail(visrl::ErrorKind::usage, "{}: {} ids, expected --max-new-tokens {}", opt.response_ids,
                    response.numel(), N);
      }
    } else {
      const int64_t hi = std::min({cfg.image_token_id, cfg.video_token_id, cfg.vision_start_token_id});
      auto gen = at::detail::createCPUGenerator(0);
      response = at::randint(hi, {N}, gen, at::kLong);
    }
    LogprobBatch batch;
    batch.input_ids = at::cat({prompt.input_ids, response}).unsqueeze(0).repeat({G, 1});  // [G, P + N]
    batch.pixel_values = prompt.pixel_values.repeat({G, 1});
    batch.image_grid_thw = prompt.image_grid_thw.repeat({G, 1});
    auto score = at::zeros({G, P + N - 1}, at::kBool);
    score.narrow(1, P - 1, N).fill_(true);  // position t scores token t+1: the response tokens
    batch.score_mask = score;
    c10::InferenceMode inference;  // as the HF side (torch.inference_mode); a trainer's policy pass keeps grads
    const double seconds = best_of(opt.repeat, [&] { forward_logprobs(*model, batch); });
    // Where the time goes: the vision tower alone on the G images (the rest is the decoder and
    // the lm_head / log_softmax on the scored positions).
    const double vision = best_of(opt.repeat, [&] { model->visual(batch.pixel_values, batch.image_grid_thw); });
    out["seconds"] = seconds;
    out["vision_seconds"] = vision;
    out["tokens"] = G * (P + N);
    out["scored_tokens"] = G * N;
    out["tokens_per_s"] = static_cast<double>(G * (P + N)) / seconds;
  } else {
    visrl::fail(visrl::ErrorKind::usage, "--mode must be generate or logprobs, got {}", opt.mode);
  }
  std::cout << out.dump() << std::endl;
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"visrl policy benchmark: generate / forward_logprobs speed on the CPU"};
  Options opt;
  app.add_option("--model", opt.model, "Hugging Face checkpoint directory")->required();
  app.add_option("--image", opt.image, "PNG or JPEG image shown before the prompt")->required();
  app.add_option("--prompt", opt.prompt, "User prompt text")->required();
  app.add_option("--n", opt.n, "Samples / rows (the group size G)")->check(CLI::PositiveNumber);
  app.add_option("--max-new-tokens", opt.max_new_tokens, "Generated (or scored) tokens per row")
      ->check(CLI::PositiveNumber);
  app.add_option("--mode", opt.mode, "generate or logprobs")->check(CLI::IsMember({"generate", "logprobs"}));
  app.add_option("--repeat", opt.repeat, "Timed calls after one warm-up; the best is reported")
      ->check(CLI::PositiveNumber);
  app.add_option("--threads", opt.threads, "at::set_num_threads")->check(CLI::PositiveNumber);
  app.add_option("--response-ids", opt.response_ids, "logprobs: JSON array of max_new_tokens response ids");
  app.add_option("--dump-prompt", opt.dump_prompt, "Write the prompt's input ids (JSON array) here");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  return visrl::run_program([&] { return run(opt); });
}
