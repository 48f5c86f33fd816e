// The golden update table (tests/fixtures/grpo_step/generate.py): one mini-batch of the GRPO
// update on a tiny Qwen3-VL with images, computed independently in plain PyTorch on
// transformers' model with verl's core_algos formulas. visrl's path (the registry's advantages,
// KL in the reward, UpdateSequences, minibatch_gradients, the gradient all-reduce) must give the
// same loss (1e-6 relative) and every parameter's gradient (1e-5 max abs) for every case
// (policy loss x aggregation it allows x KL/entropy, KL in the reward, rollout correction), at
// micro-batch 1 and 4, on 1 rank and on 2 Gloo ranks splitting the same global batch.
#include <cmath>
#include <map>

#include <gtest/gtest.h>

#include "core/json_file.h"
#include "core/safetensors.h"
#include "policy/model/hf_checkpoint.h"
#include "tests/support/multiprocess.h"
#include "tests/test_util.h"
#include "tests/trainer/distributed/dist_test_util.h"
#include "trainer/algorithms/kl.h"
#include "trainer/algorithms/registry.h"
#include "trainer/loop/config_options.h"
#include "trainer/loop/policy_setup.h"
#include "trainer/loop/ppo_update.h"

namespace visrl::trainer {
namespace {

namespace fs = std::filesystem;

fs::path fixture_dir() {
  return test::source_dir() / "tests/fixtures/grpo_step";
}

// The fixture: the batch, the cases and their expected results.
struct Golden {
  nlohmann::json meta;  // cases.json
  std::shared_ptr<const safetensors::File> file;
  std::vector<policy::PromptInput> prompts;     // [P]
  std::vector<std::vector<int64_t>> responses;  // [N] token ids
  std::vector<int64_t> group;                   // [N] prompt of each response
  at::Tensor tensor(const std::string& name) const { return file->tensor(name).clone(); }

  static Golden load() {
    Golden g;
    g.meta = read_json_file(fixture_dir() / "cases.json", "the golden update cases");
    g.file = safetensors::File::open(fixture_dir() / "golden.safetensors");
    for (int64_t p = 0; p < g.meta["prompts"].get<int64_t>(); ++p) {
      policy::PromptInput in;
      in.id = fmt::format("golden/{}", p);
      in.input_ids = g.tensor(fmt::format("prompt.{}.input_ids", p));
      in.pixel_values = g.tensor(fmt::format("prompt.{}.pixel_values", p));
      in.image_grid_thw = g.tensor(fmt::format("prompt.{}.image_grid_thw", p));
      g.prompts.push_back(in);
    }
    const auto group = g.tensor("group");
    for (int64_t i = 0; i < g.meta["responses"].get<int64_t>(); ++i) {
      const auto ids = g.tensor(fmt::format("response.{}", i)).contiguous();
      g.responses.emplace_back(ids.data_ptr<int64_t>(), ids.data_ptr<int64_t>() + ids.numel());
      g.group.push_back(group[i].item<int64_t>());
    }
    return g;
  }
};

// The case's settings as a Config, through the same update_options as the trainer.
Config case_config(const Golden& g, const nlohmann::json& c, int64_t micro, int64_t max_tokens = 0) {
  Config config;
  auto& a = config.algorithm;
  a.policy_loss = c["policy_loss"];
  a.loss_agg_mode = c["loss_agg_mode"];
  a.adv_estimator = c["adv_estimator"];
  a.kl_coef = c["kl_coef"];
  a.kl_estimator = c["kl_estimator"];
  a.entropy_coef = c["entropy_coef"];
  a.kl_in_reward = c["kl_in_reward"];
  a.rollout_is = c["rollout_is"];
  a.rollout_is_threshold = g.meta["rollout_is_threshold"];
  a.clip_ratio_low = g.meta["clip_ratio_low"];
  a.clip_ratio_high = g.meta["clip_ratio_high"];
  a.dual_clip_c = g.meta["dual_clip_c"];
  a.sapo_tau_pos = g.meta["sapo_tau_pos"];
  a.sapo_tau_neg = g.meta["sapo_tau_neg"];
  a.adv_eps = g.meta["adv_eps"];
  a.micro_batch_size = micro;
  a.max_tokens_per_micro_batch = max_tokens;
  config.rollout.temperature = g.meta["temperature"];
  config.rollout.max_new_tokens = static_cast<int64_t>(g.meta["norm_constant"].get<double>());
  return config;
}

struct CaseResult {
  at::Tensor advantages;  // [N]
  double loss = 0;        // the mini-batch's, summed over ranks
  at::Tensor grad;        // [numel] float64: every parameter's, in cases.json "parameters" order
};

// Row i of an [N, Lmax] fixture tensor, cut to response i's length: [L_i].
at::Tensor row(const at::Tensor& padded, int64_t i, int64_t length) {
  return padded[i].narrow(0, 0, length).clone();
}

// One case as the trainer runs it, on this rank's groups (rank_slice over the prompts).
// accumulate_in: the gradient buckets' dtype (unset: optim.grad_dtype's default, as the trainer).
CaseResult run_case(policy::Qwen3VLImpl& model, const Golden& g, const nlohmann::json& c, int64_t micro,
                    Communicator& comm, int64_t copies = 1,
                    std::optional<std::optional<at::ScalarType>> accumulate_in = std::nullopt, int64_t max_tokens = 0) {
  const auto config = case_config(g, c, micro, max_tokens);
  const auto options = update_options(config, /*pad_token_id=*/0);
  const auto n = static_cast<int64_t>(g.responses.size());
  const auto old_logp = g.tensor("old_logp"), ref_logp = g.tensor("ref_logp"), rollout = g.tensor("rollout_logp");
  const auto lengths = g.tensor("lengths");  // [N]

  // Rewards, with KL(old || ref) subtracted in the reward, then advantages.
  auto rewards = g.tensor("rewards").to(at::kDouble);  // [N]
  if (config.algorithm.kl_in_reward) {
    for (int64_t i = 0; i < n; ++i) {
      const auto L = lengths[i].item<int64_t>();
      rewards[i] -=
          config.algorithm.kl_coef *
          kl_penalty(row(old_logp, i, L), row(ref_logp, i, L), options.loss.kl_estimator).sum().item<double>();
    }
  }
  CaseResult out;
  out.advantages =
      group_advantages(parse_choice<AdvEstimator>("algorithm.adv_estimator", config.algorithm.adv_estimator), rewards,
                       at::tensor(g.group, at::kLong), lengths,
                       config.algorithm.adv_eps);  // [N]

  std::vector<UpdateSequence> sequences;
  const auto [lo, hi] = rank_slice(static_cast<int64_t>(g.prompts.size()), comm.rank(), comm.world_size());
  for (int64_t i = 0; i < n; ++i) {
    if (g.group[static_cast<size_t>(i)] < lo || g.group[static_cast<size_t>(i)] >= hi) continue;
    const auto L = lengths[i].item<int64_t>();
    UpdateSequence s;
    s.ref = {&g.prompts[static_cast<size_t>(g.group[static_cast<size_t>(i)])], &g.responses[static_cast<size_t>(i)]};
    s.advantage = out.advantages[i].item<double>();
    if (!c["on_policy"].get<bool>()) s.old_logp = row(old_logp, i, L);
    if (config.algorithm.kl_coef != 0) s.ref_logp = row(ref_logp, i, L);
    s.rollout_logp = row(rollout, i, L);
    sequences.push_back(s);
  }
  std::vector<const UpdateSequence*> mb;  // the rank's sequences, `copies` times over
  for (int64_t k = 0; k < copies; ++k) {
    for (const auto& s : sequences) mb.push_back(&s);
  }

  std::vector<at::Tensor> params;
  for (auto& p : model.parameters()) params.push_back(p);
  auto gradients = accumulate_in ? std::make_unique<GradientBuckets>(params, 25.0, *accumulate_in)
                                 : make_gradient_buckets(config, params);
  out.loss = comm.all_reduce_sum({minibatch_gradients(model, *gradients, comm, mb, options, nullptr)})[0];
  gradients->all_reduce(comm, 1.0);

  std::map<std::string, at::Tensor> named;
  for (const auto& p : model.named_parameters()) named[p.key()] = p.value();
  std::vector<at::Tensor> flat;
  for (const auto& entry : g.meta["parameters"]) {
    const auto& p = named.at(entry[0].get<std::string>());
    flat.push_back(p.grad().defined() ? p.grad().reshape(-1).to(at::kDouble) : at::zeros({p.numel()}, at::kDouble));
  }
  out.grad = at::cat(flat);
  gradients->zero_grad();
  return out;
}

// Every case at micro-batch `micro` against the table; the worst differences go to stdout.
// max_tokens > 0: token-budget micro-batches (algorithm.max_tokens_per_micro_batch) instead.
void check_all_cases(policy::Qwen3VLImpl& model, const Golden& g, int64_t micro, Communicator& comm,
                     int64_t max_tokens = 0) {
  double worst_loss = 0, worst_grad = 0;
  for (const auto& c : g.meta["cases"]) {
    const std::string name = c["name"];
    SCOPED_TRACE(fmt::format("case {} at micro-batch {} (token budget {}) on {} rank(s)", name, micro, max_tokens,
                             comm.world_size()));
    const auto got = run_case(model, g, c, micro, comm, 1, std::nullopt, max_tokens);
    const auto want_adv = g.tensor(name + ".advantages");
    EXPECT_LT((got.advantages - want_adv).abs().max().item<double>(), 1e-12) << got.advantages << want_adv;
    const double want_loss = g.tensor(name + ".loss").item<double>();
    const double rel = std::abs(got.loss - want_loss) / std::max(std::abs(want_loss), 1e-30);
    EXPECT_LT(rel, 1e-6) << "loss " << got.loss << " vs " << want_loss;
    const auto want_grad = g.tensor(name + ".grad").to(at::kDouble);
    ASSERT_EQ(got.grad.numel(), want_grad.numel());
    const auto diff = (got.grad - want_grad).abs();
    const double max_diff = diff.max().item<double>();
    if (!(max_diff <= 1e-5)) {
      int64_t offset = 0;  // name the parameters that differ
      for (const auto& entry : g.meta["parameters"]) {
        const auto numel = entry[1].get<int64_t>();
        const double d = diff.narrow(0, offset, numel).max().item<double>();
        if (!(d <= 1e-5)) ADD_FAILURE() << entry[0].get<std::string>() << ": gradient differs by " << d;
        offset += numel;
      }
    }
    worst_loss = std::max(worst_loss, rel);
    worst_grad = std::max(worst_grad, max_diff);
  }
  if (comm.is_main()) {
    std::printf(
        "%zu cases, micro-batch %lld, token budget %lld, %d rank(s): worst loss difference %.2e relative, worst "
        "gradient difference %.2e\n",
        g.meta["cases"].size(), static_cast<long long>(micro), static_cast<long long>(max_tokens), comm.world_size(),
        worst_loss, worst_grad);
  }
}

// float64, as the reference: the table pins the formulas, not float32 rounding (ppo_update is
// dtype-generic; the float32 and bf16 paths are checked against it below).
policy::Qwen3VL golden_model(at::ScalarType dtype = at::kDouble) {
  policy::LoadOptions load;
  load.dtype = dtype;
  return policy::load_pretrained(fixture_dir() / "model", load);
}

TEST(GoldenUpdate, OneRankMicroBatch1) {
  auto model = golden_model();
  auto comm = testing::single_communicator();
  check_all_cases(*model, Golden::load(), 1, *comm);
}

TEST(GoldenUpdate, OneRankMicroBatch4) {
  auto model = golden_model();
  auto comm = testing::single_communicator();
  check_all_cases(*model, Golden::load(), 4, *comm);
}

// Token-budget micro-batches: sorted by length and packed under budgets from one sequence per
// micro-batch to all of them in one; the global normalisation makes every cut the table's update.
TEST(GoldenUpdate, OneRankTokenBudgets) {
  auto model = golden_model();
  auto comm = testing::single_communicator();
  const auto g = Golden::load();
  for (int64_t budget : {1, 40, 90, 100000}) check_all_cases(*model, g, 1, *comm, budget);
}

// The two prompts' groups on two ranks (3 and 5 sequences, 24 and 44 tokens): the global
// normalisation must make the all-reduced gradient the one-rank gradient.
TEST(GoldenUpdate, TwoGlooRanksMicroBatch1And4) {
  if (test::in_scenario("golden")) {
    auto model = golden_model();
    auto comm = testing::rank_communicator(120);
    const auto g = Golden::load();
    check_all_cases(*model, g, 1, *comm);
    check_all_cases(*model, g, 4, *comm);
    return;
  }
  const auto result = test::run_ranks(2, "golden", std::chrono::seconds(600));
  EXPECT_TRUE(result.ok()) << result.summary();
  std::printf("%s", result.ranks[0].out.c_str());
}

// optim.grad_dtype: a bf16 policy over 32 micro-batches (the 8 answers four times, micro-batch
// 1). Its micro-batch gradients summed exactly (in float64) are the reference; fp32 accumulation
// (the default) must keep that sum, bf16 accumulation (grad_dtype param) rounds it to 8 bits at
// every micro-batch. The float32 policy's gradient is printed too: how far bf16 arithmetic
// itself moves this tiny random model, the same with either accumulation.
TEST(GoldenUpdate, Bf16PolicyAccumulatesGradientsInFp32) {
  const auto g = Golden::load();
  const auto& c = g.meta["cases"][0];  // ppo_clip, token-mean
  auto comm = testing::single_communicator();
  auto bf16 = golden_model(at::kBFloat16);
  {  // the config's default gives every bf16 parameter an fp32 accumulator
    std::vector<at::Tensor> params;
    for (auto& p : bf16->parameters()) params.push_back(p);
    EXPECT_EQ(make_gradient_buckets(Config{}, params)->num_accumulated(), params.size());
  }
  const auto exact = run_case(*bf16, g, c, 1, *comm, 4, std::optional(at::kDouble)).grad;
  const auto in_fp32 = run_case(*bf16, g, c, 1, *comm, 4, std::optional(at::kFloat)).grad;
  const auto in_bf16 =
      run_case(*bf16, g, c, 1, *comm, 4, std::optional<std::optional<at::ScalarType>>(std::in_place)).grad;
  const auto error = [&](const at::Tensor& x) { return ((x - exact).norm() / exact.norm()).item<double>(); };
  auto fp32 = golden_model(at::kFloat);
  const auto fp32_policy = run_case(*fp32, g, c, /*micro=*/32, *comm, /*copies=*/4).grad;
  std::printf(
      "bf16 policy, 32 micro-batches, gradient error of the accumulation (vs the exact sum): fp32 %.2e, "
      "bf16 %.2e (%.0fx); bf16 arithmetic vs the float32 policy: %.2e\n",
      error(in_fp32), error(in_bf16), error(in_bf16) / error(in_fp32), error(fp32_policy));
  EXPECT_LT(error(in_fp32), 1e-6);
  EXPECT_GT(error(in_bf16), 10 * error(in_fp32));
}

// The logged KL is the first epoch's mean per token, whatever the number of PPO epochs (it
// used to sum every epoch's KL over the first epoch's tokens: 2 epochs logged twice the KL).
TEST(GoldenUpdate, LoggedKlIsTheFirstEpochsMeanPerToken) {
  const auto g = Golden::load();
  auto model = golden_model();
  auto comm = testing::single_communicator();
  auto config = case_config(g, g.meta["cases"][1], /*micro=*/4);  // ppo_clip with KL and entropy
  config.algorithm.ppo_epochs = 2;
  const auto options = update_options(config, 0);
  std::vector<SequenceRef> refs;
  for (size_t i = 0; i < g.responses.size(); ++i)
    refs.push_back({&g.prompts[static_cast<size_t>(g.group[i])], &g.responses[i]});
  const auto current = response_logprobs(*model, refs, 4, options.temperature, 0);  // [N] x [L_i]
  const auto ref_logp = g.tensor("ref_logp");
  std::vector<UpdateSequence> sequences(refs.size());
  std::vector<const UpdateSequence*> mb;
  double kl_sum = 0, tokens = 0;
  for (size_t i = 0; i < refs.size(); ++i) {
    const auto L = current[i].numel();
    sequences[i].ref = refs[i];
    sequences[i].advantage = 0.5 - static_cast<double>(i % 2);
    sequences[i].old_logp = current[i];
    sequences[i].ref_logp = row(ref_logp, static_cast<int64_t>(i), L);
    kl_sum += kl_penalty(current[i], sequences[i].ref_logp, options.loss.kl_estimator).sum().item<double>();
    tokens += static_cast<double>(L);
    mb.push_back(&sequences[i]);
  }
  std::vector<std::pair<std::string, at::Tensor>> named;
  std::vector<at::Tensor> params;
  for (const auto& p : model->named_parameters()) {
    named.emplace_back(p.key(), p.value());
    params.push_back(p.value());
  }
  ShardedAdamW optimizer(named, adamw_options(config), *comm, /*shard=*/false);
  auto gradients = make_gradient_buckets(config, params);
  const auto stats = ppo_update(*model, optimizer, *gradients, *comm, {mb}, options, /*lr=*/0.0);
  EXPECT_EQ(stats.optimizer_steps, 2);
  EXPECT_DOUBLE_EQ(stats.tokens, tokens);
  EXPECT_NEAR(stats.kl_sum / stats.tokens, kl_sum / tokens, 1e-9);
}

// What feeds the update: the log-probs of the responses (temperature 0.7) equal transformers'.
TEST(GoldenUpdate, ResponseLogprobsMatchTransformers) {
  auto model = golden_model(at::kFloat);
  const auto g = Golden::load();
  std::vector<SequenceRef> refs;
  for (size_t i = 0; i < g.responses.size(); ++i)
    refs.push_back({&g.prompts[static_cast<size_t>(g.group[i])], &g.responses[i]});
  const auto want = g.tensor("logp");  // [N, Lmax]
  for (const int64_t micro : {1, 3}) {
    const auto got = response_logprobs(*model, refs, micro, g.meta["temperature"], 0);
    for (size_t i = 0; i < got.size(); ++i) {
      const auto L = got[i].numel();
      EXPECT_LT((got[i] - want[static_cast<int64_t>(i)].narrow(0, 0, L)).abs().max().item<double>(), 1e-5)
          << "response " << i << " at micro-batch " << micro;
    }
  }
}

}  // namespace
}  // namespace visrl::trainer
