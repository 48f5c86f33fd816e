// Where a real-size decode step spends its time: one JSON object.
//   decode_profile --model DIR [--dtype float32|bfloat16] [--n 8] [--steps 16] [--threads 2]
// 1. The weight-read limit: the best of 3 sums of a 2 GiB float32 array (bytes/s), and the
//    bytes one decode step must read (every decoder weight and the lm_head, once).
// 2. A decode step of policy::generate: G = --n samples of a 64-token random text prompt (no image:
//    the prefill is not what is measured), --steps new tokens each; (total - prefill) / steps.
// 3. The step's parts, each timed alone on the same shapes ([G, K] rows): every distinct
//    linear layer shape (x its count), the lm_head (also in row chunks), sampling, and the
//    rest (step - linears - lm_head); each part's bytes/s against the limit. Repeats of one
//    matrix of <= 50 MB can be served from a large L3 (300 MB on the 2-core machine of
//    2026-12-06), which overstates their streaming rate; the 1.2 GB lm_head cannot be, and the
//    engine's step reads all 6.9 GB (float32) once.
#include <chrono>
#include <functional>
#include <iostream>
#include <map>

#include <ATen/Parallel.h>
#include <CLI/CLI.hpp>
#include <c10/core/InferenceMode.h>
#include <nlohmann/json.hpp>

#include "bench/timing.h"
#include "core/program.h"
#include "policy/generate/engine.h"
#include "policy/generate/sampling.h"
#include "policy/model/hf_checkpoint.h"
#include "policy/model/text_decoder.h"

namespace {

struct Options {
  std::string model, dtype = "float32";
  int64_t n = 8, steps = 16;
  int threads = 2;
};

using visrl::bench::best_of;

int run(const Options& opt) {
  using namespace visrl::policy;
  at::set_num_threads(opt.threads);
  c10::InferenceMode inference;
  const double bandwidth = [] {
    auto a = at::ones({int64_t{1} << 29});  // 2 GiB
    return static_cast<double>(a.numel() * 4) / best_of(3, [&] { a.sum().item<float>(); });
  }();
  LoadOptions load;
  load.dtype = opt.dtype == "bfloat16" ? at::kBFloat16 : at::kFloat;
  auto model = load_pretrained(opt.model, load);
  const int64_t G = opt.n;

  // The linears of one decoder layer by shape, and the lm_head.
  std::map<std::pair<int64_t, int64_t>, int64_t> shapes;  // (out, in) -> count over all layers
  int64_t step_bytes = 0;
  for (const auto& p : model->language_model->layers->named_parameters()) {
    if (p.value().dim() != 2) continue;
    ++shapes[{p.value().size(0), p.value().size(1)}];
    step_bytes += p.value().numel() * p.value().element_size();
  }
  const auto& head = model->lm_head_weight();
  step_bytes += head.numel() * head.element_size();
  const double limit_steps_per_s = bandwidth / static_cast<double>(step_bytes);

  // 2. The engine's decode step.
  // Text ids below the vision special tokens (which would ask for an image).
  PromptInput prompt{"profile", at::randint(model->config.vision_start_token_id, {64}, at::kLong), {}, {}};
  GenerateOptions o;
  o.group_size = G;
  o.max_new_tokens = opt.steps + 1;
  o.seed = 1;
  const double total = best_of(1, [&] { generate(*model, {prompt}, o); });
  o.max_new_tokens = 1;
  const double prefill = best_of(1, [&] { generate(*model, {prompt}, o); });
  const double step = (total - prefill) / static_cast<double>(opt.steps);

  // 3. Parts.
  nlohmann::json parts = nlohmann::json::array();
  double linears = 0;
  const auto options = at::TensorOptions().dtype(model->dtype());
  for (const auto& [shape, count] : shapes) {
    auto w = at::randn({shape.first, shape.second}, options);
    auto x = at::randn({G, shape.second}, options);
    const double s = best_of(5, [&] { at::linear(x, w); });
    const double bytes = static_cast<double>(w.numel() * w.element_size());
    linears += s * static_cast<double>(count);
    parts.push_back({{"part", fmt::format("linear {}x{}", shape.first, shape.second)},
                     {"count", count},
                     {"seconds_per_step", s * static_cast<double>(count)},
                     {"share_of_bandwidth", bytes / s / bandwidth}});
  }
  auto x = at::randn({G, head.size(1)}, options);
  const double head_s = best_of(3, [&] { at::linear(x, head); });
  parts.push_back({{"part", "lm_head"},
                   {"count", 1},
                   {"seconds_per_step", head_s},
                   {"share_of_bandwidth", static_cast<double>(head.numel() * head.element_size()) / head_s / bandwidth}});
  // The lm_head in chunks of rows of the weight, each a skinny matmul of the size the layers have.
  const double chunked_s = best_of(3, [&] {
    for (int64_t r = 0; r < head.size(0); r += 8192)
      at::linear(x, head.narrow(0, r, std::min<int64_t>(8192, head.size(0) - r)));
  });
  parts.push_back(
      {{"part", "lm_head in 8192-row chunks"},
       {"count", 1},
       {"seconds_per_step", chunked_s},
       {"share_of_bandwidth", static_cast<double>(head.numel() * head.element_size()) / chunked_s / bandwidth}});
  // Sampling from [G, V] float32 logits: the logits processors and the inverse-CDF pick.
  auto logits = at::randn({G, head.size(0)});
  auto u = at::rand({G}, at::kDouble);
  SamplingParams sampling;
  const double sampling_s = best_of(3, [&] { pick_tokens(process_logits(logits, sampling, {}, {}), false, u); });
  parts.push_back({{"part", "sampling [G, V]"}, {"count", 1}, {"seconds_per_step", sampling_s}});
  auto model_logits = at::linear(x, head);  // [G, V] in the model's dtype
  const double to_float_s = best_of(3, [&] { model_logits.to(at::kFloat); });
  parts.push_back({{"part", "logits to float32"}, {"count", 1}, {"seconds_per_step", to_float_s}});
  // The model's own weights vs fresh copies of them (how their memory was filled may matter).
  {
    auto* layer = model->language_model->layers->ptr<DecoderLayerImpl>(0).get();
    const auto& w = layer->mlp->gate_proj->weight;
    auto xs = at::randn({G, w.size(1)}, options);
    const double own = best_of(5, [&] { at::linear(xs, w); });
    auto copy = w.clone();
    const double fresh = best_of(5, [&] { at::linear(xs, copy); });
    auto head_copy = head.clone();
    const double head_fresh = best_of(3, [&] { at::linear(x, head_copy); });
    parts.push_back({{"part", "model's gate_proj vs its clone, lm_head clone"},
                     {"count", 1},
                     {"own_s", own},
                     {"clone_s", fresh},
                     {"lm_head_clone_s", head_fresh}});
  }
  parts.push_back({{"part", "rest (attention, norms, sampling, ...)"},
                   {"count", 1},
                   {"seconds_per_step", step - linears - head_s}});
  nlohmann::json out = {{"dtype", opt.dtype},
                        {"threads", opt.threads},
                        {"G", G},
                        {"bandwidth_bytes_per_s", bandwidth},
                        {"step_weight_bytes", step_bytes},
                        {"limit_tok_per_s", limit_steps_per_s * static_cast<double>(G)},
                        {"decode_step_s", step},
                        {"decode_tok_per_s", static_cast<double>(G) / step},
                        {"share_of_limit", 1.0 / step / limit_steps_per_s},
                        {"parts", parts}};
  std::cout << out.dump(1) << std::endl;
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"where a real-size decode step spends its time (CPU)"};
  Options opt;
  app.add_option("--model", opt.model, "Qwen3-VL checkpoint directory")->required();
  app.add_option("--dtype", opt.dtype, "float32 or bfloat16");
  app.add_option("--n", opt.n, "G: rows decoded together");
  app.add_option("--steps", opt.steps, "decode steps timed");
  app.add_option("--threads", opt.threads, "intra-op threads");
  CLI11_PARSE(app, argc, argv);
  return visrl::run_program([&] { return run(opt); });
}
