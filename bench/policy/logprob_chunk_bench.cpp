// build/bin/logprob_chunk_bench: the memory and time of the log-prob head (policy::lm_head_logprobs,
// what forward_logprobs runs after the decoder) at a real model's shape, in a fresh process:
// random hidden states h [tokens, hidden] and a [vocab, hidden] lm_head weight, both requiring
// grad, one forward (token log-probs and entropies) and one backward of a loss mixing both.
//   logprob_chunk_bench [--tokens 4096] [--hidden 2048] [--vocab 151936] [--chunk 512]
//                       [--dtype float32|float64|bfloat16] [--temperature 1.0]
// Run each configuration in its own process (VmHWM is the process's peak), e.g.
//   for c in 0 512; do build/bin/logprob_chunk_bench --chunk $c; done
// Prints one JSON object: inputs_rss_mb (VmRSS once h, the weight and the targets exist),
// peak_rss_mb (VmHWM at the end), peak_over_inputs_mb (their difference: what the
// head itself needed, the weight's gradient included), forward_s, backward_s, and checksums
// (sum of log-probs and entropies, gradient norms) to compare configurations.

#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "core/memory_info.h"
#include "policy/generate/logprobs.h"
#include "policy/model/hf_checkpoint.h"

namespace {

double mb(int64_t bytes) {
  return static_cast<double>(bytes) / (1024.0 * 1024.0);
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"log-prob head (lm_head + log-softmax + entropy) forward/backward memory and time"};
  int64_t tokens = 4096, hidden = 2048, vocab = 151936, chunk = 512;
  double temperature = 1.0;
  std::string dtype = "float32";
  app.add_option("--tokens", tokens, "scored positions N");
  app.add_option("--hidden", hidden, "hidden size H");
  app.add_option("--vocab", vocab, "vocabulary size V");
  app.add_option("--chunk", chunk, "positions per chunk; 0 = all at once");
  app.add_option("--dtype", dtype, "float32 | float64 | bfloat16 (of h and the weight)");
  app.add_option("--temperature", temperature, "logits are divided by it");
  CLI11_PARSE(app, argc, argv);
  try {
    const auto scalar = dtype == "float64" ? at::kDouble : visrl::policy::dtype_from_name(dtype, "--dtype");
    auto gen = at::make_generator<at::CPUGeneratorImpl>(0);
    const auto opts = at::TensorOptions().dtype(scalar);
    auto h = at::randn({tokens, hidden}, gen, opts).requires_grad_();
    auto weight = at::randn({vocab, hidden}, gen, opts).mul_(0.02).requires_grad_();
    const auto targets = at::randint(vocab, {tokens}, gen, at::TensorOptions().dtype(at::kLong));
    const auto out_dtype = at::promote_types(scalar, at::kFloat);
    const auto wl = at::randn({tokens}, gen, at::TensorOptions().dtype(out_dtype));
    const auto we = at::randn({tokens}, gen, at::TensorOptions().dtype(out_dtype)).mul_(0.01);
    const double inputs_rss = mb(visrl::current_rss_bytes());

    auto start = std::chrono::steady_clock::now();
    auto out = visrl::policy::lm_head_logprobs(h, weight, targets, temperature, chunk);
    const auto loss = (out.logprobs * wl).sum() + (out.entropies * we).sum();
    const double forward_s = seconds_since(start);
    const double forward_peak = mb(visrl::peak_rss_bytes());
    start = std::chrono::steady_clock::now();
    loss.backward();
    const double backward_s = seconds_since(start);
    const double peak = mb(visrl::peak_rss_bytes());

    nlohmann::ordered_json report = {
        {"tokens", tokens},
        {"hidden", hidden},
        {"vocab", vocab},
        {"chunk", chunk},
        {"dtype", dtype},
        {"threads", at::get_num_threads()},
        {"inputs_rss_mb", inputs_rss},
        {"forward_peak_rss_mb", forward_peak},
        {"peak_rss_mb", peak},
        {"peak_over_inputs_mb", peak - inputs_rss},
        {"forward_s", forward_s},
        {"backward_s", backward_s},
        {"logprob_sum", out.logprobs.sum().item<double>()},
        {"entropy_sum", out.entropies.sum().item<double>()},
        {"grad_h_norm", h.grad().norm().item<double>()},
        {"grad_weight_norm", weight.grad().norm().item<double>()},
    };
    std::printf("%s\n", report.dump().c_str());
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "logprob_chunk_bench: %s\n", e.what());
    return 1;
  }
}
