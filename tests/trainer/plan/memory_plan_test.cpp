// The memory planner's arithmetic on small configurations computed by hand (the tied fixture
// model: text H 64, I 96, 3 layers, 4 heads of 16, 2 KV heads, vocab 2048; vision Hv 32, Iv 64,
// depth 3), its verdict and fixes, and the budget parsing.
#include <gtest/gtest.h>

#include "core/error.h"
#include "core/memory_info.h"
#include "policy/model/lora.h"
#include "policy/model/tiny_model.h"
#include "tests/policy/model/model_fixture.h"
#include "trainer/loop/config_options.h"
#include "trainer/plan/memory_plan.h"
#include "trainer/plan/memory_stage.h"
#include "trainer/plan/plan_inputs.h"

namespace visrl::trainer {
namespace {

constexpr int64_t kRuntime = (64 << 20) + 20 * 1000;  // a CPU process with a 1000-byte tokenizer.json

policy::Qwen3VLConfig tied() {
  return policy::Qwen3VLConfig::from_file(test::qwen3vl_fixture_dir() / "tied" / "config.json");
}

// The parameter count from the module itself, not from the planner's arithmetic.
int64_t numel_of_module() {
  auto model = policy::init_random(tied(), 1);
  int64_t n = 0;
  for (const auto& p : model->parameters()) n += p.numel();
  return n;
}

Config small_config() {
  Config c;
  c.model.dtype = "fp32";
  c.model.logprob_chunk_tokens = 8;
  c.algorithm.kl_coef = 0.01;
  c.rollout.group_size = 2;
  c.rollout.prompts_per_step = 2;
  c.rollout.batch_size = 4;
  c.rollout.max_new_tokens = 16;
  c.algorithm.micro_batch_size = 1;
  c.render.workers = 2;
  c.render.memory_limit_mb = 100;
  return c;
}

PlanInputs small_inputs() {
  PlanInputs in;
  in.policy = tied();
  in.prompt_tokens = 20;
  in.image_patches = 16;
  in.tokenizer_json_bytes = 1000;
  in.budget_bytes = int64_t{1} << 40;
  in.budget_source = "test";
  return in;
}

int64_t item(const MemoryPlan& plan, const std::string& name) {
  for (const auto& i : plan.items) {
    if (i.name == name) return i.bytes;
  }
  return -1;
}

TEST(MemoryPlan, HandComputedFp32CpuPlan) {
  const int64_t N = numel_of_module();
  const auto plan = plan_memory(small_config(), small_inputs());
  EXPECT_EQ(item(plan, "policy weights"), N * 4);
  EXPECT_EQ(item(plan, "reference model"), N * 4);
  EXPECT_EQ(item(plan, "AdamW state (exp_avg, exp_avg_sq)"), N * 8);
  EXPECT_EQ(item(plan, "fp32 master weights"), -1) << "an fp32 model needs no masters";
  EXPECT_EQ(item(plan, "gradients"), N * 4);
  // KV: 2 (k, v) x 3 layers x 2 heads x 16 x 4 B = 768 B/token; 2 prompts x 20 + 4 answers x 16.
  EXPECT_EQ(item(plan, "policy KV cache"), 768 * (2 * 20 + 4 * 16));
  // Prefill: 40 prompt tokens x (3 I + 4 H + q + 2 kv = 288 + 256 + 64 + 64) x 4 B.
  EXPECT_EQ(item(plan, "prefill temporaries"), 40 * 672 * 4);
  EXPECT_EQ(item(plan, "decode logits"), 4 * 2048 * 4 * 2);
  // Saved per token and layer: 6 H + 7 q + 6 kv + 4 I = 384 + 448 + 192 + 384 = 1408 elements;
  // a micro-batch of 20 + 16 = 36 tokens over 3 layers.
  EXPECT_EQ(item(plan, "activations"), 36 * 3 * 1408 * 4);
  // Vision: 16 patches x (3 blocks x (9 Hv + 4 Hv + 2 Iv = 544) + 13 Hv = 416) x 4 B.
  EXPECT_EQ(item(plan, "vision activations"), 16 * (3 * 544 + 416) * 4);
  EXPECT_EQ(item(plan, "log-prob chunk"), 3 * 8 * 2048 * 4);
  EXPECT_EQ(item(plan, "render workers (separate processes)"), 2 * (100 << 20));

  const int64_t held = 3 * N * 4 + N * 8 + kRuntime;  // weights, reference, gradients; AdamW
  const int64_t rollout = 768 * 104 + 40 * 672 * 4 + 4 * 2048 * 8;
  const int64_t update = 36 * 3 * 1408 * 4 + 16 * 2048 * 4 + 3 * 8 * 2048 * 4;
  EXPECT_EQ(plan.held, held);
  EXPECT_EQ(plan.rollout, rollout);
  EXPECT_EQ(plan.update, update);
  EXPECT_EQ(plan.peak, held + std::max(rollout, update));
  EXPECT_EQ(plan.needed(), plan.peak + 2 * (100 << 20)) << "on a CPU the render workers share the host";
  EXPECT_TRUE(plan.fits());
}

TEST(MemoryPlan, GradientCheckpointingKeepsLayerInputsAndOneLayer) {
  auto c = small_config();
  c.model.gradient_checkpointing = true;
  const auto plan = plan_memory(c, small_inputs());
  // 36 tokens x (3 layer inputs of 64 x 4 B + one layer's 1408 x 4 B).
  EXPECT_EQ(item(plan, "activations (gradient checkpointing)"), 36 * (3 * 64 * 4 + 1408 * 4));
  EXPECT_EQ(item(plan, "activations"), -1);
}

TEST(MemoryPlan, Bf16OnGpusWithZeroOneShards) {
  auto c = small_config();
  c.model.dtype = "bf16";
  c.distributed.shard_optimizer = true;
  c.model.logprob_chunk_tokens = 0;  // unchunked: 4 copies of [16, 2048]
  auto in = small_inputs();
  in.cuda = true;
  in.world_size = 4;
  const int64_t N = numel_of_module();
  const int64_t owned = (N + 3) / 4;
  const auto plan = plan_memory(c, in);
  EXPECT_EQ(item(plan, "policy weights"), N * 2);
  EXPECT_EQ(item(plan, "AdamW state (exp_avg, exp_avg_sq)"), owned * 8);
  EXPECT_EQ(item(plan, "fp32 master weights"), owned * 4);
  EXPECT_EQ(item(plan, "gradients"), N * 4) << "fp32 accumulators are not sharded by ZeRO-1";
  EXPECT_EQ(item(plan, "autograd gradients"), N * 2);
  EXPECT_EQ(item(plan, "log-prob logits (unchunked)"), 4 * 16 * 2048 * 4);
  EXPECT_EQ(item(plan, "CUDA context"), 600 << 20);
  EXPECT_EQ(plan.beside, item(plan, "runtime (tokenizer, data, threads)") + 2 * (100 << 20))
      << "on a GPU the runtime and the render workers live in host memory";
  // 2 prompts x 2 answers = 4 sequences over 4 ranks: one answer, one prompt per rank.
  EXPECT_EQ(item(plan, "policy KV cache"), 384 * (1 * 20 + 1 * 16));
  EXPECT_EQ(plan.needed(), plan.peak) << "render workers live in host memory, not on the GPU";
}

// LoRA: the frozen base once (no reference copy: it is the base with the adapters off), the
// float32 adapters with their AdamW state and gradients, no masters; in the update the
// adapters' fp32 inputs beside the bf16 activations, and no vision activations without vision
// adapters. The adapter count is the module's own, from add_lora on the tied model.
TEST(MemoryPlan, LoraHoldsTheBaseOnceAndTrainsTheAdapters) {
  auto c = small_config();
  c.model.dtype = "bf16";
  c.model.lora.rank = 4;
  auto in = small_inputs();
  in.lora = lora_spec(c);
  const int64_t N = numel_of_module();
  auto model = policy::init_random(tied(), 1);
  int64_t adapters = 0;
  policy::add_lora(*model, *in.lora, 0);
  for (const auto& [name, t] : policy::lora_parameters(*model)) adapters += t.numel();
  // 3 layers x r 4 x (q 64+64, k 64+32, v 64+32, o 64+64, gate/up 2 x (64+96), down 96+64)
  EXPECT_EQ(adapters, 3 * 4 * (128 + 96 + 96 + 128 + 2 * 160 + 160));
  const auto plan = plan_memory(c, in);
  EXPECT_EQ(item(plan, "policy weights (the frozen base)"), N * 2);
  EXPECT_EQ(item(plan, "reference model"), -1);
  EXPECT_EQ(item(plan, "LoRA adapters"), adapters * 4);
  EXPECT_EQ(item(plan, "AdamW state (exp_avg, exp_avg_sq)"), adapters * 8);
  EXPECT_EQ(item(plan, "fp32 master weights"), -1);
  EXPECT_EQ(item(plan, "gradients"), adapters * 4);
  EXPECT_EQ(item(plan, "autograd gradients"), -1);
  EXPECT_EQ(item(plan, "vision activations"), -1);
  // Per token and layer: 1408 bf16 elements + the fp32 inputs of the adapted projections
  // (q, k, v, gate, up: H = 64 each; o: q = 64; down: I = 96; 480 in all) = 1408 x 2 + 480 x 4 bytes.
  EXPECT_EQ(item(plan, "activations"), 36 * 3 * (1408 * 2 + 480 * 4));
  EXPECT_EQ(item(plan, "LoRA merge temporaries"), 3 * 64 * 96 * 4);  // below one 4 MiB chunk
  // Vision adapters bring the vision activations back.
  c.model.lora.vision = true;
  in.lora = lora_spec(c);
  EXPECT_GT(item(plan_memory(c, in), "vision activations"), 0);
}

TEST(MemoryPlan, RefusesWithTheShortfallAndTheCheapestFix) {
  auto c = small_config();
  c.rollout.max_new_tokens = 4096;  // activations dominate the update
  auto in = small_inputs();
  in.budget_bytes = 0;
  const auto without = plan_memory(c, in);
  c.model.gradient_checkpointing = true;
  const auto with = plan_memory(c, in);
  ASSERT_LT(with.needed(), without.needed());
  c.model.gradient_checkpointing = false;
  in.budget_bytes = (with.needed() + without.needed()) / 2;
  const auto plan = plan_memory(c, in);
  EXPECT_FALSE(plan.fits());
  ASSERT_FALSE(plan.fixes.empty());
  EXPECT_EQ(plan.fixes.front().rfind("model.gradient_checkpointing=true", 0), 0u) << plan.fixes.front();
  const auto text = format_plan(plan);
  EXPECT_NE(text.find("DOES NOT FIT"), std::string::npos) << text;
  EXPECT_NE(text.find("short by " + format_bytes(without.needed() - in.budget_bytes)), std::string::npos) << text;
}

TEST(MemoryPlan, BudgetParsing) {
  const auto gpus = gpus_budget("8x80GB");
  EXPECT_TRUE(gpus.cuda);
  EXPECT_EQ(gpus.ranks, 8);
  EXPECT_EQ(gpus.bytes_per_rank, int64_t{80} * 1000 * 1000 * 1000);
  EXPECT_EQ(gpus_budget("2x24GiB").bytes_per_rank, int64_t{24} << 30);
  EXPECT_EQ(host_budget("512M").bytes_per_rank, int64_t{512} << 20);
  EXPECT_FALSE(host_budget("24GB").cuda);
  for (const char* bad : {"80GB", "8x", "8xlots", "0x80GB"}) {
    try {
      gpus_budget(bad);
      ADD_FAILURE() << bad << " was accepted";
    } catch (const Error& e) {
      EXPECT_EQ(e.exit_code(), 2) << bad;
      EXPECT_NE(std::string(e.what()).find("--gpus"), std::string::npos) << e.what();
    }
  }
  EXPECT_THROW(parse_memory_size("-3GB", "--memory"), Error);
  EXPECT_GT(host_memory().bytes, 0);
}

TEST(MemoryPlan, InputsFromTheCheckpointDirectory) {
  Config c = small_config();
  c.model.path = (test::qwen3vl_fixture_dir() / "tied").string();
  c.model.max_pixels = 64 * 64;  // 16 patches, 4 image tokens
  c.data.max_prompt_tokens = 8192;
  const auto in = plan_inputs_for(c, host_budget("1GB"));
  EXPECT_EQ(in.image_patches, 16);
  EXPECT_EQ(in.prompt_tokens, 4 + 256);
  EXPECT_FALSE(in.critic.has_value());
  c.model.path = "/nonexistent/model";
  try {
    plan_inputs_for(c, host_budget("1GB"));
    ADD_FAILURE();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("model.path"), std::string::npos) << e.what();
  }
}

// An allocation LibTorch cannot make is recognised as out-of-memory, with its first line, and the
// innermost stage names what was being done (train turns both into its error message).
TEST(MemoryStage, NamesTheStageOfAFailedAllocation) {
  EXPECT_EQ(MemoryStage::current(), "");
  MemoryStage outer("loading the policy weights");
  std::string what;
  try {
    MemoryStage inner("allocating the AdamW state and the gradient accumulators");
    EXPECT_EQ(MemoryStage::current(), "allocating the AdamW state and the gradient accumulators");
    auto t = at::empty({int64_t{1} << 50}, at::kByte);  // a petabyte
    ADD_FAILURE() << "the allocation succeeded";
  } catch (const std::exception& e) {
    EXPECT_TRUE(is_out_of_memory(e, &what)) << e.what();
    EXPECT_NE(what.find("1125899906842624 bytes"), std::string::npos) << what;
    EXPECT_EQ(what.find('\n'), std::string::npos) << "one line, no backtrace: " << what;
  }
  EXPECT_EQ(MemoryStage::current(), "loading the policy weights");
  EXPECT_FALSE(is_out_of_memory(std::runtime_error("a bad file"), &what));
}

}  // namespace
}  // namespace visrl::trainer
