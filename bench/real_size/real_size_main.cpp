// visrl's side of the real-size check (bench/real_size/run.py): one measurement per process,
// so that the peak RSS it reports (VmHWM, core/memory_info.h) belongs to that measurement alone.
//   real_size_main --mode MODE [--model DIR] [--image PNG] [--prompt TEXT] [--dtype float32]
//                  [--threads 2] [--n 8] [--max-new-tokens 32] [--rows 2] [--response-ids FILE]
//                  [--out FILE] [--seed 0]
// Modes (each prints one JSON line, always with load_seconds and max_rss_bytes, the peak RSS):
//   load       load_pretrained + the tokenizer / processor assets, nothing else
//   logits     one forward over the prompt (chat template + image processor); the float32
//              logits [T, vocab] go to --out as .npy, the prompt ids into the JSON line
//   greedy     --max-new-tokens greedy tokens (G = 1, no eos), token ids into the JSON line
//   generate   G = --n samples of exactly --max-new-tokens sampled tokens (temperature 1, no
//              top-k/top-p, no eos) in one generate() call; then the same call with one new
//              token (prefill only), so decode = total - prefill
//   logprobs   forward_logprobs over --rows rows of prompt + response (--response-ids, a JSON
//              array of --max-new-tokens ids), the image repeated per row, inference mode
//   bandwidth  read bandwidth: the best of 5 sums of a 2 GiB float32 array (--threads)

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <optional>
#include <string>

#include <ATen/Parallel.h>
#include <c10/core/InferenceMode.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/memory_info.h"
#include "core/program.h"
#include "policy/generate/engine.h"
#include "policy/generate/logprobs.h"
#include "policy/generate/positions.h"
#include "policy/generate/prompt.h"
#include "policy/image/image_processor.h"
#include "policy/model/hf_checkpoint.h"

namespace {

using clock_type = std::chrono::steady_clock;

struct Options {
  std::string mode, model, image, prompt, dtype = "float32", response_ids, out;
  int64_t n = 8, max_new_tokens = 32, rows = 2;
  int64_t chunk = 0;      // logprobs: model.logprob_chunk_tokens
  bool backward = false;  // logprobs: also the backward of the summed log-probs (gradient checkpointing on)
  int threads = 2;
  uint64_t seed = 0;
};

double seconds_since(clock_type::time_point t0) {
  return std::chrono::duration<double>(clock_type::now() - t0).count();
}

// A float32 [rows, cols] tensor as a NumPy .npy file (format 1.0, little-endian, C order).
void write_npy(const std::string& path, const at::Tensor& tensor) {
  const auto t = tensor.to(at::kFloat).contiguous();
  std::string shape = "(";
  for (int64_t d = 0; d < t.dim(); ++d)
    shape += std::to_string(t.size(d)) + (t.dim() == 1 ? ",)" : d + 1 < t.dim() ? ", " : ")");
  std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': " + shape + ", }";
  const size_t total = 10 + header.size() + 1;
  header.append((64 - total % 64) % 64, ' ');
  header += '\n';
  std::ofstream f(path, std::ios::binary);
  if (!f) visrl::fail(visrl::ErrorKind::io, "{}: cannot open for writing", path);
  const uint16_t len = static_cast<uint16_t>(header.size());
  f.write("\x93NUMPY\x01\x00", 8);
  f.write(reinterpret_cast<const char*>(&len), 2);
  f << header;
  f.write(static_cast<const char*>(t.data_ptr()), static_cast<std::streamsize>(t.numel() * sizeof(float)));
  if (!f) visrl::fail(visrl::ErrorKind::io, "{}: write failed", path);
}

std::vector<int64_t> to_vector(const at::Tensor& ids) {
  const auto c = ids.to(at::kLong).contiguous();
  return {c.data_ptr<int64_t>(), c.data_ptr<int64_t>() + c.numel()};
}

nlohmann::json bandwidth(const Options& opt) {
  // 2 GiB: far beyond any cache; touched once first so that page faults are not timed.
  auto a = at::ones({int64_t{1} << 29}, at::kFloat);
  double best = 1e30;
  double sum = 0;
  for (int r = 0; r < 6; ++r) {
    const auto t0 = clock_type::now();
    sum = a.sum().item<double>();
    if (r > 0) best = std::min(best, seconds_since(t0));
  }
  const double bytes = static_cast<double>(a.numel()) * sizeof(float);
  return {{"bytes", bytes}, {"seconds", best}, {"bytes_per_s", bytes / best}, {"check", sum}, {"threads", opt.threads}};
}

int run(const Options& opt) {
  using namespace visrl::policy;
  at::set_num_threads(opt.threads);
  nlohmann::json out = {{"impl", "visrl"}, {"mode", opt.mode}, {"threads", opt.threads}};
  if (opt.mode == "bandwidth") {
    out.update(bandwidth(opt));
    out["max_rss_bytes"] = visrl::peak_rss_bytes();
    std::cout << out.dump() << std::endl;
    return 0;
  }
  if (opt.model.empty()) visrl::fail(visrl::ErrorKind::usage, "--model is required for --mode {}", opt.mode);
  LoadOptions load;
  load.dtype = dtype_from_name(opt.dtype, "--dtype");
  const auto t0 = clock_type::now();
  auto model = load_pretrained(opt.model, load);
  model->eval();
  const auto assets = PolicyAssets::load(opt.model);
  out["load_seconds"] = seconds_since(t0);
  out["dtype"] = opt.dtype;
  int64_t param_bytes = 0;
  for (const auto& p : model->parameters()) param_bytes += p.numel() * p.element_size();
  out["param_bytes"] = param_bytes;
  out["rss_after_load_bytes"] = visrl::peak_rss_bytes();

  if (opt.mode != "load") {
    if (opt.image.empty() || opt.prompt.empty()) {
      visrl::fail(visrl::ErrorKind::usage, "--image and --prompt are required for --mode {}", opt.mode);
    }
    const auto prompt = build_prompt(assets, opt.prompt, {read_image(opt.image)}, "real_size");
    const auto& cfg = model->config;
    const int64_t P = prompt.input_ids.numel(), N = opt.max_new_tokens;
    out["prompt_tokens"] = P;
    out["image_tokens"] = prompt.input_ids.eq(cfg.image_token_id).sum().item<int64_t>();
    out["prompt_ids"] = to_vector(prompt.input_ids);

    if (opt.mode == "logits") {
      if (opt.out.empty()) visrl::fail(visrl::ErrorKind::usage, "--mode logits needs --out FILE.npy");
      c10::InferenceMode inference;
      ModelInputs in;
      in.input_ids = prompt.input_ids.unsqueeze(0);
      in.position_ids =
          batch_positions(cfg, in.input_ids, at::ones_like(in.input_ids, at::kBool), prompt.image_grid_thw)
              .position_ids;
      in.pixel_values = prompt.pixel_values.to(model->dtype());
      in.image_grid_thw = prompt.image_grid_thw;
      const auto t1 = clock_type::now();
      const auto logits = model->forward(in);
      out["forward_seconds"] = seconds_since(t1);
      write_npy(opt.out, logits[0]);
    } else if (opt.mode == "greedy" || opt.mode == "generate") {
      GenerateOptions o;
      o.group_size = opt.mode == "greedy" ? 1 : opt.n;
      o.max_new_tokens = N;
      o.sampling.greedy = opt.mode == "greedy";
      o.sampling.temperature = 1.0;
      o.eos_token_ids = {};  // every sample runs to exactly max_new_tokens
      o.pad_token_id = assets.pad_token_id;
      o.seed = opt.seed;
      GenerateStats stats;
      const auto t1 = clock_type::now();
      const auto samples = generate(*model, {prompt}, o, nullptr, &stats);
      const double seconds = seconds_since(t1);
      int64_t tokens = 0;
      for (const auto& s : samples) tokens += static_cast<int64_t>(s.token_ids.size());
      out["n"] = o.group_size;
      out["max_new_tokens"] = N;
      out["seconds"] = seconds;
      out["tokens"] = tokens;
      out["tokens_per_s"] = static_cast<double>(tokens) / seconds;
      out["kv_cache_bytes"] = stats.kv_cache_bytes;
      if (opt.mode == "greedy") {
        out["token_ids"] = samples.at(0).token_ids;
      } else {
        auto prefill_only = o;
        prefill_only.max_new_tokens = 1;
        const auto t2 = clock_type::now();
        generate(*model, {prompt}, prefill_only);
        const double prefill = seconds_since(t2);
        out["prefill_seconds"] = prefill;
        out["decode_seconds"] = seconds - prefill;
        out["decode_steps"] = N - 1;  // the first token is sampled from the prefill's logits
        out["decode_tokens_per_s"] = static_cast<double>(o.group_size * (N - 1)) / (seconds - prefill);
      }
    } else if (opt.mode == "logprobs") {
      if (opt.response_ids.empty()) visrl::fail(visrl::ErrorKind::usage, "--mode logprobs needs --response-ids FILE");
      std::ifstream in(opt.response_ids);
      if (!in) visrl::fail(visrl::ErrorKind::io, "{}: cannot open", opt.response_ids);
      const auto response = at::tensor(nlohmann::json::parse(in).get<std::vector<int64_t>>(), at::kLong);
      const int64_t R = opt.rows, L = response.numel();
      LogprobBatch batch;
      batch.input_ids = at::cat({prompt.input_ids, response}).unsqueeze(0).repeat({R, 1});  // [R, P + L]
      batch.pixel_values = prompt.pixel_values.repeat({R, 1});
      batch.image_grid_thw = prompt.image_grid_thw.repeat({R, 1});
      auto score = at::zeros({R, P + L - 1}, at::kBool);
      score.narrow(1, P - 1, L).fill_(true);  // position t scores token t+1: the response tokens
      batch.score_mask = score;
      std::optional<c10::InferenceMode> inference;
      if (!opt.backward) inference.emplace();
      model->language_model->gradient_checkpointing = opt.backward;
      const auto t1 = clock_type::now();
      const auto result = forward_logprobs(*model, batch, 1.0, opt.chunk);
      const double seconds = seconds_since(t1);
      if (opt.backward) {
        const auto t2 = clock_type::now();
        result.logprobs.sum().backward();
        out["backward_seconds"] = seconds_since(t2);
        double grad_sq = 0;
        for (const auto& p : model->parameters()) {
          if (p.grad().defined()) grad_sq += p.grad().to(at::kDouble).pow(2).sum().item<double>();
        }
        out["grad_norm"] = std::sqrt(grad_sq);
      }
      out["chunk"] = opt.chunk;
      out["rows"] = R;
      out["response_tokens"] = L;
      out["seconds"] = seconds;
      out["tokens"] = R * (P + L);
      out["tokens_per_s"] = static_cast<double>(R * (P + L)) / seconds;
      out["response_logprob_sum_row0"] = result.logprobs[0].sum().item<double>();
    } else {
      visrl::fail(visrl::ErrorKind::usage, "unknown --mode {}", opt.mode);
    }
  }
  out["max_rss_bytes"] = visrl::peak_rss_bytes();
  std::cout << out.dump() << std::endl;
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"visrl real-size check: one measurement per process (bench/real_size/run.py drives it)"};
  Options opt;
  app.add_option("--mode", opt.mode, "load, logits, greedy, generate, logprobs or bandwidth")
      ->required()
      ->check(CLI::IsMember({"load", "logits", "greedy", "generate", "logprobs", "bandwidth"}));
  app.add_option("--model", opt.model, "Hugging Face checkpoint directory");
  app.add_option("--image", opt.image, "PNG or JPEG image shown before the prompt");
  app.add_option("--prompt", opt.prompt, "User prompt text");
  app.add_option("--dtype", opt.dtype, "float32 or bfloat16 (the model is cast on load)")
      ->check(CLI::IsMember({"float32", "bfloat16"}));
  app.add_option("--threads", opt.threads, "at::set_num_threads")->check(CLI::PositiveNumber);
  app.add_option("--n", opt.n, "generate: samples (the group size G)")->check(CLI::PositiveNumber);
  app.add_option("--max-new-tokens", opt.max_new_tokens, "greedy / generate: new tokens per sample")
      ->check(CLI::PositiveNumber);
  app.add_option("--rows", opt.rows, "logprobs: rows of prompt + response")->check(CLI::PositiveNumber);
  app.add_option("--response-ids", opt.response_ids, "logprobs: JSON array of response token ids");
  app.add_option("--chunk", opt.chunk, "logprobs: positions per log-softmax chunk (0 = all at once)");
  app.add_flag("--backward", opt.backward, "logprobs: also backward (gradient checkpointing on)");
  app.add_option("--out", opt.out, "logits: the .npy file to write");
  app.add_option("--seed", opt.seed, "generate: sampling seed");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  return visrl::run_program([&] { return run(opt); });
}
