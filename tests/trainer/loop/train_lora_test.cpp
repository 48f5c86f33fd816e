// build/bin/train, sft, eval, refine and export with a LoRA policy on the tiny run: only the
// adapters train and are saved (PEFT's layout, with their AdamW state), the KL reference is the
// base with the adapters off (no second model), a resume from a checkpoint is bitwise, and
// `export --merge-lora` writes a plain model with the adapted logits.
#include <fstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "core/json_file.h"
#include "core/safetensors.h"
#include "policy/model/hf_checkpoint.h"
#include "policy/model/lora.h"
#include "policy/model/lora_checkpoint.h"
#include "tests/support/multiprocess.h"
#include "tests/trainer/loop/tiny_run.h"

namespace visrl::test {
namespace {
namespace fs = std::filesystem;
using ::testing::HasSubstr;

const std::vector<std::string> kLora = {"--set", "model.lora.rank=4",        "--set", "model.lora.alpha=8",
                                        "--set", "model.lora.init=gaussian", "--set", "optim.lr=0.05",
                                        "--set", "optim.total_steps=4",      "--set", "checkpoint.every_steps=2"};

std::vector<std::string> args(const fs::path& config, const fs::path& run_dir, std::vector<std::string> extra = {}) {
  std::vector<std::string> out = {"--config", config.string(), "--run-dir", run_dir.string()};
  out.insert(out.end(), kLora.begin(), kLora.end());
  out.insert(out.end(), extra.begin(), extra.end());
  return out;
}

std::string output(const MultiProcessResult& r) {
  return r.ranks.at(0).out + r.ranks.at(0).err;
}

at::Tensor logits_of(const fs::path& model_dir, const policy::ModelInputs& in) {
  auto model = policy::load_pretrained(model_dir);
  at::NoGradGuard no_grad;
  return model->forward(in);
}

policy::ModelInputs some_inputs() {
  policy::ModelInputs in;
  in.input_ids = at::arange(5, 25, at::kLong).view({1, 20});
  in.position_ids = at::arange(20, at::kLong).view({1, 1, 20}).expand({3, 1, 20}).contiguous();
  return in;
}

class TrainLora : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    run_ = new TinyRun();
    config_ = run_->write_config("config.yaml");
    auto result = run_program_ranks(1, VISRL_TRAIN_BIN, args(config_, straight()), std::chrono::seconds(400));
    ASSERT_TRUE(result.ok()) << result.summary();
    log_ = output(result);
  }
  static void TearDownTestSuite() {
    delete run_;
    run_ = nullptr;
  }
  static fs::path straight() { return run_->dir / "straight"; }

  static TinyRun* run_;
  static fs::path config_;
  static std::string log_;
};
TinyRun* TrainLora::run_ = nullptr;
fs::path TrainLora::config_;
std::string TrainLora::log_;

TEST_F(TrainLora, OnlyTheAdaptersTrainAndAreSavedInPeftsLayout) {
  EXPECT_THAT(log_, HasSubstr("(LoRA adapters;"));
  EXPECT_THAT(log_, ::testing::Not(HasSubstr("loading the reference model")));
  for (const auto& dir : {straight() / "final", straight() / "checkpoints/step_2/model"}) {
    EXPECT_TRUE(fs::exists(dir / policy::kAdapterConfig)) << dir;
    EXPECT_TRUE(fs::exists(dir / policy::kAdapterWeights)) << dir;
    EXPECT_TRUE(fs::exists(dir / "tokenizer.json")) << dir;
    EXPECT_FALSE(fs::exists(dir / "model.safetensors")) << dir;  // no copy of the base
    const auto config = read_json_file(dir / policy::kAdapterConfig, "adapter config");
    EXPECT_EQ(config["r"], 4);
    EXPECT_EQ(config["base_model_name_or_path"], fs::absolute(run_->dir / "model").lexically_normal().string());
    EXPECT_EQ(config["exclude_modules"], policy::kVisionModulesRegex);
  }
  // The optimizer state is the adapters' alone: exp_avg, exp_avg_sq and step per tensor, no masters.
  const auto adapters = safetensors::Checkpoint::open(straight() / "final" / policy::kAdapterWeights).names();
  const auto optimizer = safetensors::Checkpoint::open(straight() /
                                                       "checkpoints/step_4/optimizer/"
                                                       "optimizer.safetensors.index.json")
                             .names();
  EXPECT_EQ(optimizer.size(), 3 * adapters.size());
  for (const auto& name : optimizer) EXPECT_THAT(name, ::testing::ContainsRegex("\\.lora_[AB]\\.weight\\."));
  // The adapters moved; the base they point at did not.
  const auto in = some_inputs();
  const auto base = logits_of(run_->dir / "model", in), trained = logits_of(straight() / "final", in);
  EXPECT_GT((trained - base).abs().max().item<double>(), 1e-4);
  // KL against the base (the adapters off) is measured and starts at zero (B = 0 at step 1).
  const auto m = metric_lines(straight() / "metrics.jsonl");
  ASSERT_EQ(m.size(), 4u);
  EXPECT_NEAR(m[0]["kl"].get<double>(), 0.0, 1e-7);
  EXPECT_GT(m[3]["kl"].get<double>(), 0.0);
  EXPECT_TRUE(m[0].contains("time_lora_merge_s"));
}

TEST_F(TrainLora, ResumingFromStepTwoIsBitwiseIdentical) {
  const auto dir = run_->dir / "resumed";
  auto first =
      run_program_ranks(1, VISRL_TRAIN_BIN, args(config_, dir, {"--max-steps", "2"}), std::chrono::seconds(400));
  ASSERT_TRUE(first.ok()) << first.summary();
  auto second =
      run_program_ranks(1, VISRL_TRAIN_BIN, args(config_, dir, {"--resume", "auto"}), std::chrono::seconds(400));
  ASSERT_TRUE(second.ok()) << second.summary();
  EXPECT_THAT(output(second), HasSubstr("resumed from " + (dir / "checkpoints/step_2").string()));
  for (const char* f : {"final/adapter_model.safetensors", "checkpoints/step_4/model/adapter_model.safetensors",
                        "checkpoints/step_4/optimizer/optimizer-00001-of-00001.safetensors"}) {
    EXPECT_EQ(read_file(straight() / f), read_file(dir / f)) << f;
  }
  const auto a = metric_lines(straight() / "metrics.jsonl"), b = metric_lines(dir / "metrics.jsonl");
  ASSERT_EQ(b.size(), 4u);
  for (int i = 2; i < 4; ++i) EXPECT_EQ(without_times(a[i]), without_times(b[i])) << "step " << i + 1;
}

// Two ranks, the adapters' AdamW state sharded (ZeRO-1) and only their gradients all-reduced:
// the same adapters as one rank.
TEST_F(TrainLora, TwoRanksWithShardedStateMatchOneRank) {
  const auto dir = run_->dir / "two_ranks";
  auto r = run_program_ranks(2, VISRL_TRAIN_BIN, args(config_, dir, {"--set", "distributed.shard_optimizer=true"}),
                             std::chrono::seconds(400));
  ASSERT_TRUE(r.ok()) << r.summary();
  EXPECT_TRUE(fs::exists(dir / "checkpoints/step_4/optimizer/optimizer-00002-of-00002.safetensors"));
  // (worst |a - b|, largest |a|) over the adapters of a checkpoint of both runs.
  const auto compare = [&](const fs::path& relative) {
    const auto a = safetensors::Checkpoint::open(straight() / relative / policy::kAdapterWeights);
    const auto b = safetensors::Checkpoint::open(dir / relative / policy::kAdapterWeights);
    EXPECT_EQ(a.names(), b.names());
    double worst = 0, largest = 0;
    for (const auto& name : a.names()) {
      worst = std::max(worst, (a.tensor(name) - b.tensor(name)).abs().max().item<double>());
      largest = std::max(largest, a.tensor(name).abs().max().item<double>());
    }
    std::cout << fmt::format("2 ranks vs 1 rank, LoRA adapters of {}: max |diff| {:.3g} (largest |value| {:.3g})\n",
                             relative.string(), worst, largest);
    return std::pair{worst, largest};
  };
  // Both runs draw the same answers (rollout.batch_invariant), but two ranks sum the gradients
  // in another order than one, and AdamW's normalization with this run's large lr (0.05) turns
  // that rounding into differences of about 1e-5 of the adapters' size after two steps (which
  // CPU kernels round how differs between machines); a missing all-reduce or a wrong shard
  // moves them by about the lr. Two steps later the rounding has grown where a gradient is
  // near zero (Adam divides it by its own size): up to 2e-3 here, still 25x below the lr.
  const auto [early, early_size] = compare("checkpoints/step_2/model");
  EXPECT_LE(early, 1e-4 * early_size);
  const auto [late, late_size] = compare("final");
  EXPECT_LE(late, 0.05 / 10);
  (void)late_size;
}

TEST_F(TrainLora, ExportMergesTheAdaptersIntoAPlainModel) {
  const auto merged = run_->dir / "merged";
  auto r = run_program_ranks(1, VISRL_EXPORT_BIN,
                             {"--checkpoint", straight().string(), "--out", merged.string(), "--merge-lora"},
                             std::chrono::seconds(120));
  ASSERT_TRUE(r.ok()) << r.summary();
  EXPECT_THAT(r.ranks[0].out, HasSubstr("LoRA merged into the base"));
  EXPECT_TRUE(fs::exists(merged / "model.safetensors"));
  EXPECT_FALSE(fs::exists(merged / policy::kAdapterConfig));
  const auto in = some_inputs();
  EXPECT_LE((logits_of(merged, in) - logits_of(straight() / "final", in)).abs().max().item<double>(), 1e-5);
  // Without --merge-lora: the adapter directory, loadable as it is.
  const auto adapter = run_->dir / "adapter";
  r = run_program_ranks(1, VISRL_EXPORT_BIN, {"--checkpoint", straight().string(), "--out", adapter.string()},
                        std::chrono::seconds(120));
  ASSERT_TRUE(r.ok()) << r.summary();
  EXPECT_THAT(r.ranks[0].out, HasSubstr("--merge-lora"));
  EXPECT_TRUE(at::equal(logits_of(adapter, in), logits_of(straight() / "final", in)));
}

TEST_F(TrainLora, EvalAndRefineTakeTheAdapterDirectory) {
  const auto out = run_->dir / "eval";
  auto r = run_program_ranks(
      1, VISRL_EVAL_BIN,
      {"--model", (straight() / "final").string(), "--data", (run_->dir / "data/train.jsonl").string(), "--config",
       config_.string(), "--out", out.string()},
      std::chrono::seconds(240));
  ASSERT_TRUE(r.ok()) << r.summary();
  EXPECT_EQ(read_json_file(out / "summary.json", "eval summary")["items"], 4);
  const auto refined = run_->dir / "refine";
  r = run_program_ranks(
      1, VISRL_REFINE_BIN,
      {"--model", (straight() / "checkpoints/step_2").string(), "--data", (run_->dir / "data/train.jsonl").string(),
       "--config", config_.string(), "--rounds", "1", "--out", refined.string()},
      std::chrono::seconds(240));
  ASSERT_TRUE(r.ok()) << r.summary();
}

// SFT with LoRA writes an adapter; GRPO starts from it (model.path = the adapter directory). The
// adapter's rank comes with it, its dropout does not: GRPO trains with model.lora.dropout (0,
// which gradient checkpointing needs), not the 0.1 SFT used.
TEST(SftLora, WritesAnAdapterThatGrpoStartsFrom) {
  TinyRun run;
  const auto config = run.write_config("config.yaml");
  const auto sft = run.dir / "sft";
  auto r = run_program_ranks(1, VISRL_SFT_BIN,
                             {"--config", config.string(), "--run-dir", sft.string(), "--set", "model.lora.rank=2",
                              "--set", "model.lora.dropout=0.1", "--set", "model.gradient_checkpointing=false", "--set",
                              "optim.total_steps=2", "--batch-size", "2"},
                             std::chrono::seconds(240));
  ASSERT_TRUE(r.ok()) << r.summary();
  ASSERT_TRUE(policy::is_adapter_dir(sft / "final"));
  EXPECT_EQ(policy::read_adapter_spec(sft / "final").dropout, 0.1);
  const auto grpo = run.dir / "grpo";
  r = run_program_ranks(
      1, VISRL_TRAIN_BIN,
      {"--config", config.string(), "--run-dir", grpo.string(), "--set", "model.path=" + (sft / "final").string(),
       "--set", "model.gradient_checkpointing=true", "--set", "optim.total_steps=1"},
      std::chrono::seconds(240));
  ASSERT_TRUE(r.ok()) << r.summary();
  EXPECT_THAT(output(r), HasSubstr("LoRA dropout 0 (model.lora.dropout) instead of the adapter's 0.1"));
  const auto spec = policy::read_adapter_spec(grpo / "final");
  EXPECT_EQ(spec.rank, 2);
  EXPECT_EQ(spec.dropout, 0.0);
  // model.lora.path names the same adapter on model.path's base; both at once is refused.
  r = run_program_ranks(1, VISRL_TRAIN_BIN,
                        {"--config", config.string(), "--run-dir", (run.dir / "both").string(), "--set",
                         "model.path=" + (sft / "final").string(), "--set",
                         "model.lora.path=" + (sft / "final").string(), "--set", "optim.total_steps=1"},
                        std::chrono::seconds(240));
  EXPECT_FALSE(r.ok());
  EXPECT_THAT(output(r), HasSubstr("model.lora.path"));
}

// Dropout with gradient checkpointing would recompute layers under other masks: refused up front.
TEST(TrainLoraConfig, DropoutWithGradientCheckpointingIsRefused) {
  TinyRun run;
  const auto config = run.write_config("config.yaml");
  auto r = run_program_ranks(
      1, VISRL_TRAIN_BIN,
      {"--config", config.string(), "--run-dir", (run.dir / "x").string(), "--set", "model.lora.rank=2", "--set",
       "model.lora.dropout=0.1", "--set", "model.gradient_checkpointing=true"},
      std::chrono::seconds(120));
  EXPECT_FALSE(r.ok());
  EXPECT_THAT(output(r), HasSubstr("model.lora.dropout 0.1 with model.gradient_checkpointing"));
}

}  // namespace
}  // namespace visrl::test
