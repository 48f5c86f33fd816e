// Long-tailed answer lengths: generation with today's engine vs continuous batching, and the
// update with sequence-count vs token-budget micro-batches, printed as one JSON object.
//   longtail_bench --model DIR --images A.png,B.png,... --lengths FILE [--max-new-tokens 512]
//                  [--slots 64] [--micro-batch-size 16] [--token-budget 0] [--threads 2] [--json]
// Workload (bench/trainer/longtail_bench.py draws it): P prompts (one image each + the
// chart prompt), G = lengths / P samples each; sample i's length is lengths[i] (a JSON array,
// prompt-major), forced through per-sample token budgets (no eos ids), so every engine and
// transformers generate the same number of tokens. Sampling at temperature 1.
//   static      generate_static: all rows decode until the longest ends (today's engine)
//   continuous  generate with --slots slots
//   invariant   the same with batch_invariant (its cost)
// `differ`: the share of samples whose tokens change when the continuous engine runs the same
// prompts with a quarter of the slots (batch_invariant off; 0 with it on, checked too).
// The update: one mini-batch of every sample (random advantages), forward + backward, with
// --micro-batch-size sequences per micro-batch in rollout order (today) and with token-budget
// micro-batches of at most --token-budget padded tokens (0: the largest of today's
// micro-batches, so peak activations do not grow); seconds, tokens/s, padding fraction.
#include <algorithm>
#include <chrono>
#include <fstream>
#include <iostream>
#include <random>
#include <sstream>

#include <ATen/Parallel.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/program.h"
#include "policy/generate/engine.h"
#include "policy/generate/prompt.h"
#include "policy/generate/static_engine.h"
#include "policy/image/image_processor.h"
#include "policy/model/hf_checkpoint.h"
#include "trainer/algorithms/advantage.h"
#include "trainer/distributed/communicator.h"
#include "trainer/loop/config_options.h"
#include "trainer/loop/micro_batches.h"
#include "trainer/loop/ppo_update.h"

namespace {

constexpr const char* kPrompt =
    "Write Python matplotlib code that reproduces this chart exactly: the same chart type, data, colors, axis "
    "labels, ticks, legend and title.";

struct Options {
  std::string model, images, lengths;
  int64_t max_new_tokens = 512, slots = 64, micro_batch_size = 16, token_budget = 0;
  int threads = 2;
  bool json = false;
};

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

std::vector<std::string> split(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream in(s);
  for (std::string item; std::getline(in, item, ',');) out.push_back(item);
  return out;
}

int run(const Options& opt) {
  using namespace visrl;
  at::set_num_threads(opt.threads);
  auto model = policy::load_pretrained(opt.model);
  const auto assets = policy::PolicyAssets::load(opt.model);
  std::vector<policy::PromptInput> prompts;
  for (const auto& path : split(opt.images)) {
    prompts.push_back(policy::build_prompt(assets, kPrompt, {policy::read_image(path)}, path));
  }
  std::ifstream lengths_file(opt.lengths);
  if (!lengths_file) fail(ErrorKind::io, "{}: cannot open", opt.lengths);
  const auto lengths = nlohmann::json::parse(lengths_file).get<std::vector<int64_t>>();
  const auto P = static_cast<int64_t>(prompts.size()), N = static_cast<int64_t>(lengths.size()), G = N / P;
  if (P == 0 || N != P * G) fail(ErrorKind::usage, "{} lengths for {} prompts: expected a multiple", N, P);
  int64_t useful = 0;
  for (int64_t n : lengths) useful += n;

  policy::GenerateOptions o;
  o.group_size = G;
  o.max_new_tokens = opt.max_new_tokens;
  o.sampling.temperature = 1.0;
  o.pad_token_id = assets.pad_token_id;
  o.seed = 1;
  o.decode_slots = opt.slots;
  // As the trainer: no vision placeholders in answers (they could not be scored in the update).
  const auto& c = model->config;
  o.suppress_token_ids = {c.image_token_id, c.video_token_id, c.vision_start_token_id, c.vision_end_token_id};
  o.sample_max_new_tokens = [&](int64_t p, int64_t g) { return lengths[static_cast<size_t>(p * G + g)]; };
  nlohmann::json out = {{"prompts", P},
                        {"group", G},
                        {"samples", N},
                        {"tokens", useful},
                        {"prompt_tokens", prompts.front().input_ids.numel()},
                        {"threads", opt.threads},
                        {"slots", opt.slots}};
  // generate and generate_static share their signature: either engine, one warm-up call, then
  // one timed call.
  using Engine = decltype(&policy::generate);
  const auto time_engine = [&](const char* name, Engine engine, const policy::GenerateOptions& options) {
    engine(*model, prompts, options, nullptr, nullptr);  // warm-up
    policy::GenerateStats stats;
    const auto t = Clock::now();
    auto result = engine(*model, prompts, options, nullptr, &stats);
    const double s = seconds_since(t);
    int64_t tokens = 0;
    for (const auto& x : result) tokens += static_cast<int64_t>(x.token_ids.size());
    if (tokens != useful) fail(ErrorKind::runtime, "{}: {} tokens, expected {}", name, tokens, useful);
    out[name] = {{"seconds", s},
                 {"tokens_per_s", static_cast<double>(useful) / s},
                 {"decode_steps", stats.decode_steps},
                 {"decode_rows", stats.decode_rows},
                 {"kv_cache_bytes", stats.kv_cache_bytes}};
    std::cerr << name << ": " << s << " s, " << static_cast<double>(useful) / s << " tok/s\n";
    return result;
  };
  time_engine("static", &policy::generate_static, o);
  const auto samples = time_engine("continuous", &policy::generate, o);
  auto invariant = o;
  invariant.batch_invariant = true;
  const auto invariant_samples = time_engine("invariant", &policy::generate, invariant);
  // The same prompts with a quarter of the slots: which samples change?
  const auto share_differ = [&](const policy::GenerateOptions& x, const std::vector<policy::GeneratedSample>& full) {
    auto fewer = x;
    fewer.decode_slots = std::max<int64_t>(1, x.decode_slots / 4);
    const auto other = policy::generate(*model, prompts, fewer);
    int64_t differ = 0;
    for (size_t i = 0; i < other.size(); ++i) differ += other[i].token_ids != full[i].token_ids;
    return static_cast<double>(differ) / static_cast<double>(other.size());
  };
  out["differ"] = share_differ(o, samples);
  out["differ_invariant"] = share_differ(invariant, invariant_samples);

  // The update over the continuous engine's samples.
  trainer::LaunchEnv single;
  auto comm = trainer::Communicator::create(single, "gloo", 60, at::kCPU);
  std::vector<at::Tensor> params;
  for (auto& p : model->parameters()) params.push_back(p);
  Config config;
  config.algorithm.micro_batch_size = opt.micro_batch_size;
  config.rollout.max_new_tokens = opt.max_new_tokens;
  auto gradients = trainer::make_gradient_buckets(config, params);
  std::vector<trainer::UpdateSequence> seqs(static_cast<size_t>(N));
  std::vector<const trainer::UpdateSequence*> batch;
  auto advantages = at::randn({N}, at::TensorOptions().dtype(at::kDouble));
  std::vector<trainer::SequenceRef> refs;
  for (int64_t i = 0; i < N; ++i) {
    auto& s = seqs[static_cast<size_t>(i)];
    s.ref = {&prompts[static_cast<size_t>(i / G)], &samples[static_cast<size_t>(i)].token_ids};
    s.advantage = advantages[i].item<double>();
    refs.push_back(s.ref);
    batch.push_back(&s);
  }
  int64_t budget = opt.token_budget;
  if (budget == 0) {  // the largest micro-batch of today's cut, in padded tokens
    const auto lengths_now = trainer::sequence_lengths(refs);
    for (const auto& b : trainer::plan_micro_batches(lengths_now, opt.micro_batch_size, 0).batches) {
      int64_t longest = 0;
      for (size_t i : b) longest = std::max(longest, lengths_now[i]);
      budget = std::max(budget, longest * static_cast<int64_t>(b.size()));
    }
  }
  out["token_budget"] = budget;
  const auto time_update = [&](const char* name, int64_t max_tokens) {
    auto uo = trainer::update_options(config, assets.pad_token_id);
    uo.max_tokens_per_micro_batch = max_tokens;
    trainer::minibatch_gradients(*model, *gradients, *comm, batch, uo, nullptr);  // warm-up
    trainer::UpdateStats stats;
    const auto t = Clock::now();
    trainer::minibatch_gradients(*model, *gradients, *comm, batch, uo, &stats);
    const double s = seconds_since(t);
    out[name] = {{"seconds", s},
                 {"tokens_per_s", stats.sequence_tokens / s},
                 {"micro_batches", stats.micro_batches},
                 {"padding_fraction", 1.0 - stats.sequence_tokens / stats.padded_tokens},
                 {"tokens_per_micro_batch", stats.sequence_tokens / stats.micro_batches}};
    std::cerr << name << ": " << s << " s, padding " << 1.0 - stats.sequence_tokens / stats.padded_tokens << "\n";
  };
  time_update("update_sequences", 0);
  time_update("update_token_budget", budget);
  std::cout << out.dump() << std::endl;
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"visrl long-tail generation and update benchmark (CPU)"};
  Options opt;
  app.add_option("--model", opt.model, "Qwen3-VL checkpoint directory")->required();
  app.add_option("--images", opt.images, "comma-separated prompt images, one prompt each")->required();
  app.add_option("--lengths", opt.lengths, "JSON array of answer lengths, prompt-major")->required();
  app.add_option("--max-new-tokens", opt.max_new_tokens, "the token limit");
  app.add_option("--slots", opt.slots, "decode slots of the continuous engine");
  app.add_option("--micro-batch-size", opt.micro_batch_size, "sequences per micro-batch (today's update)");
  app.add_option("--token-budget", opt.token_budget, "padded tokens per micro-batch (0: today's largest)");
  app.add_option("--threads", opt.threads, "intra-op threads");
  app.add_flag("--json", opt.json, "print the JSON object (always printed)");
  CLI11_PARSE(app, argc, argv);
  return visrl::run_program([&] { return run(opt); });
}
