// The GRPO update step of visrl on the CPU, printed as one JSON object (medians over --steps
// after one warm-up step):
//   grpo_update_bench --model DIR --image PNG --prompts P --group G --response-len L
//                     --kl-coef B --steps S --threads T --json
// Work per step, as TRL's GRPOTrainer does it in bench/trainer/trl_peer.py: P prompts (the
// image + the policy_bench prompt) x G responses of exactly L fixed random ids; one no-grad
// policy forward for the old log-probs, one no-grad reference forward, one forward + backward
// of the PPO-clip loss with the k3 KL term (token-mean), one AdamW step. The whole batch is
// one micro-batch. Each prompt gets its own copy of the image (one pixel changed), so the
// vision tower encodes P distinct images per forward, as it would in training. bench/trainer/grpo_update_bench.py runs
// it next to TRL.
#include <algorithm>
#include <chrono>
#include <iostream>
#include <random>

#include <ATen/Parallel.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "core/program.h"
#include "policy/generate/prompt.h"
#include "policy/image/image_processor.h"
#include "policy/model/flops.h"
#include "policy/model/hf_checkpoint.h"
#include "trainer/algorithms/advantage.h"
#include "trainer/distributed/communicator.h"
#include "trainer/loop/config_options.h"
#include "trainer/loop/ppo_update.h"

namespace {

constexpr const char* kPrompt =
    "Write Python matplotlib code that reproduces this chart exactly: the same chart type, data, colors, axis "
    "labels, ticks, legend and title.";

struct Options {
  std::string model, image;
  int64_t prompts = 4, group = 8, response_len = 64, steps = 3;
  double kl_coef = 0.04;
  int threads = 2;
  bool json = false;
};

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0.0 : v[v.size() / 2];
}

int run(const Options& opt) {
  using namespace visrl;
  using Clock = std::chrono::steady_clock;
  auto seconds_since = [](Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); };
  at::set_num_threads(opt.threads);
  auto policy = policy::load_pretrained(opt.model);
  auto reference = policy::load_pretrained(opt.model);
  for (auto& p : reference->parameters()) p.set_requires_grad(false);
  const auto assets = policy::PolicyAssets::load(opt.model);
  // One image per prompt, as in a real batch (the G answers of a prompt share its image): the
  // P copies differ in one pixel, so the vision tower encodes P images, not one.
  const auto image = policy::read_image(opt.image);  // [H, W, 3] uint8
  std::vector<policy::PromptInput> prompts;
  for (int64_t p = 0; p < opt.prompts; ++p) {
    auto copy = image.clone();
    copy[0][0][0] = static_cast<uint8_t>((image[0][0][0].item<int>() + 1 + p) % 256);
    prompts.push_back(policy::build_prompt(assets, kPrompt, {copy}, fmt::format("bench{}", p)));
  }
  const auto& prompt = prompts.front();

  // Responses: fixed random ids below the vision special tokens (seed 0), rewards random.
  const int64_t N = opt.prompts * opt.group;
  std::mt19937_64 rng(0);
  std::uniform_int_distribution<int64_t> token(0, policy->config.vision_start_token_id - 1);
  std::vector<std::vector<int64_t>> responses(static_cast<size_t>(N));
  for (auto& r : responses) {
    for (int64_t j = 0; j < opt.response_len; ++j) r.push_back(token(rng));
  }
  auto rewards = at::rand({N}, at::TensorOptions().dtype(at::kFloat));
  auto group_ids = at::arange(N, at::kLong).floor_divide(opt.group);
  auto advantages = trainer::grpo_advantages(rewards, group_ids, 1e-4);

  trainer::LaunchEnv single;
  auto comm = trainer::Communicator::create(single, "gloo", 60, at::kCPU);
  std::vector<std::pair<std::string, at::Tensor>> named;
  std::vector<at::Tensor> params;
  for (auto& p : policy->named_parameters()) {
    named.emplace_back(p.key(), p.value());
    params.push_back(p.value());
  }
  trainer::AdamWOptions adamw;
  adamw.weight_decay = 0.01;  // as trl_peer.py configures TRL
  trainer::ShardedAdamW optimizer(named, adamw, *comm, false);
  Config config;  // the update as trl_peer.py configures TRL
  config.algorithm.micro_batch_size = N;
  config.algorithm.kl_coef = opt.kl_coef;
  config.algorithm.clip_ratio_low = config.algorithm.clip_ratio_high = 0.2;  // TRL: epsilon 0.2 both sides
  config.algorithm.dual_clip_c = 0;                                          // no dual clip
  config.rollout.temperature = 1.0;
  config.optim.grad_clip = 1.0;
  auto gradients = trainer::make_gradient_buckets(config, params);

  std::vector<trainer::SequenceRef> refs;
  for (int64_t i = 0; i < N; ++i) {
    refs.push_back({&prompts[static_cast<size_t>(i / opt.group)], &responses[static_cast<size_t>(i)]});
  }
  const auto uo = trainer::update_options(config, assets.pad_token_id);

  std::vector<double> t_old, t_ref, t_fb, t_opt, t_total;
  for (int64_t step = 0; step <= opt.steps; ++step) {  // step 0 warms up
    const auto start = Clock::now();
    auto t = Clock::now();
    auto old = trainer::response_logprobs(*policy, refs, N, 1.0, assets.pad_token_id);
    const double old_s = seconds_since(t);
    t = Clock::now();
    std::vector<at::Tensor> ref;
    if (opt.kl_coef != 0) ref = trainer::response_logprobs(*reference, refs, N, 1.0, assets.pad_token_id);
    const double ref_s = seconds_since(t);
    std::vector<trainer::UpdateSequence> seqs(static_cast<size_t>(N));
    std::vector<const trainer::UpdateSequence*> batch;
    for (int64_t i = 0; i < N; ++i) {
      auto& s = seqs[static_cast<size_t>(i)];
      s.ref = refs[static_cast<size_t>(i)];
      s.advantage = advantages[i].item<double>();
      s.old_logp = old[static_cast<size_t>(i)];
      if (!ref.empty()) s.ref_logp = ref[static_cast<size_t>(i)];
      batch.push_back(&s);
    }
    const auto stats = trainer::ppo_update(*policy, optimizer, *gradients, *comm, {batch}, uo, 1e-6);
    if (step == 0) continue;
    t_old.push_back(old_s);
    t_ref.push_back(ref_s);
    t_fb.push_back(stats.forward_backward_s);
    t_opt.push_back(stats.optimizer_s);
    t_total.push_back(seconds_since(start));
  }
  const int64_t prompt_tokens = prompt.input_ids.numel();
  const int64_t tokens = N * (prompt_tokens + opt.response_len);
  // Matmul work of the step: 3 forwards (old, reference, loss) and the loss's backward. Each
  // forward encodes the P distinct images once and scores the L response positions of each row.
  policy::ForwardWork work;
  for (const auto& p : prompts) work.image_patches.push_back(p.pixel_values.size(0));
  work.row_tokens.assign(static_cast<size_t>(N), prompt_tokens + opt.response_len);
  work.scored_positions = N * opt.response_len;
  const auto forward = policy::forward_flops(policy->config, work);
  const double forwards = opt.kl_coef != 0 ? 3 : 2;
  const double update_flops = forwards * forward.total() + policy::backward_flops(forward);
  nlohmann::json out = {{"old_logprobs_s", median(t_old)},
                        {"ref_logprobs_s", median(t_ref)},
                        {"loss_backward_s", median(t_fb)},
                        {"optimizer_s", median(t_opt)},
                        {"update_s", median(t_total)},
                        {"tokens", tokens},
                        {"tokens_per_s", static_cast<double>(tokens) / median(t_total)},
                        {"prompt_tokens", prompt_tokens},
                        {"forward_flops", forward.total()},
                        {"update_flops", update_flops},
                        {"update_gflops_per_s", update_flops / median(t_total) / 1e9},
                        {"threads", opt.threads}};
  std::cout << out.dump() << std::endl;
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"visrl GRPO update-step benchmark (CPU)"};
  Options opt;
  app.add_option("--model", opt.model, "Qwen3-VL checkpoint directory")->required();
  app.add_option("--image", opt.image, "prompt image (PNG or JPEG)")->required();
  app.add_option("--prompts", opt.prompts, "P prompts");
  app.add_option("--group", opt.group, "G responses per prompt");
  app.add_option("--response-len", opt.response_len, "L tokens per response");
  app.add_option("--kl-coef", opt.kl_coef, "KL loss weight (0: no reference forward)");
  app.add_option("--steps", opt.steps, "timed steps after one warm-up");
  app.add_option("--threads", opt.threads, "intra-op threads");
  app.add_flag("--json", opt.json, "print the JSON object (always printed)");
  CLI11_PARSE(app, argc, argv);
  return visrl::run_program([&] { return run(opt); });
}
