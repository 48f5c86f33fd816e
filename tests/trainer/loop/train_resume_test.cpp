// build/bin/train resumed: (a) 6 steps straight vs 3 steps, kill -9, --resume auto, 3 more:
// bitwise-identical weights, optimizer state and rollouts, identical metrics for steps 4-6;
// (b) 2 ranks for 3 steps, then 1 rank: equal to (a) within 1e-5; build/bin/export of the
// result; a damaged newest checkpoint skipped by --resume auto and refused by --resume PATH.
#include <fstream>
#include <random>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "core/safetensors.h"
#include "policy/model/hf_checkpoint.h"
#include "tests/support/multiprocess.h"
#include "tests/trainer/loop/tiny_run.h"
#include "trainer/checkpoint/checkpoint_dir.h"

namespace visrl::test {
namespace {
namespace fs = std::filesystem;
using ::testing::HasSubstr;
using Clock = std::chrono::steady_clock;

const std::vector<std::string> kSixSteps = {"--set", "optim.total_steps=6", "--set", "checkpoint.every_steps=3"};

std::vector<std::string> args(const fs::path& config, const fs::path& run_dir, std::vector<std::string> extra = {}) {
  std::vector<std::string> out = {"--config", config.string(), "--run-dir", run_dir.string()};
  out.insert(out.end(), kSixSteps.begin(), kSixSteps.end());
  out.insert(out.end(), extra.begin(), extra.end());
  return out;
}

std::map<std::string, at::Tensor> tensors(const fs::path& path) {
  std::map<std::string, at::Tensor> out;
  const auto file = safetensors::Checkpoint::open(path);
  for (const auto& name : file.names()) out[name] = file.tensor(name).clone();
  return out;
}

// The checkpoints kept aside in abandoned-<time>/ directories of a run.
std::vector<fs::path> abandoned(const fs::path& run_dir) {
  std::vector<fs::path> out;
  for (const auto& d : fs::directory_iterator(run_dir / "checkpoints")) {
    if (d.path().filename().string().rfind("abandoned-", 0) != 0) continue;
    for (const auto& c : fs::directory_iterator(d.path())) out.push_back(c.path());
  }
  return out;
}

// The straight 6-step run both resumes are compared with, trained once per test program.
class TrainResume : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    run_ = new TinyRun();
    config_ = run_->write_config("config.yaml");
    auto result =
        run_program_ranks(1, VISRL_TRAIN_BIN, args(config_, run_->dir / "straight"), std::chrono::seconds(400));
    ASSERT_TRUE(result.ok()) << result.summary();
  }
  static void TearDownTestSuite() {
    delete run_;
    run_ = nullptr;
  }
  static fs::path straight() { return run_->dir / "straight"; }

  static TinyRun* run_;
  static fs::path config_;
};
TinyRun* TrainResume::run_ = nullptr;
fs::path TrainResume::config_;

TEST_F(TrainResume, KillNineAfterStepThreeThenResumeIsBitwiseIdentical) {
  const auto killed = run_->dir / "killed";
  const auto straight_metrics = metric_lines(straight() / "metrics.jsonl");
  ASSERT_EQ(straight_metrics.size(), 6u);
  // kill -9 at a random moment of step 4, once step 3's checkpoint is complete.
  std::mt19937 rng(20261121);
  const double step_s = straight_metrics[3]["time_step_s"].get<double>();
  const auto delay = std::chrono::duration<double>(std::uniform_real_distribution<double>(0.0, step_s)(rng));
  std::optional<Clock::time_point> kill_at;
  auto first = run_program_ranks(1, VISRL_TRAIN_BIN, args(config_, killed), std::chrono::seconds(400), {}, [&] {
    if (!kill_at) {
      if (read_file(killed / "checkpoints/latest") != "step_3\n") return false;
      kill_at = Clock::now() + std::chrono::duration_cast<Clock::duration>(delay);
    }
    return Clock::now() >= *kill_at;
  });
  ASSERT_TRUE(first.killed) << first.summary();
  EXPECT_FALSE(fs::exists(killed / "final"));
  std::cout << fmt::format("killed {:.2f} s into step 4 ({} metric lines on disk)\n", delay.count(),
                           metric_lines(killed / "metrics.jsonl").size());

  auto resumed =
      run_program_ranks(1, VISRL_TRAIN_BIN, args(config_, killed, {"--resume", "auto"}), std::chrono::seconds(400));
  ASSERT_TRUE(resumed.ok()) << resumed.summary();
  EXPECT_THAT(resumed.ranks[0].out + resumed.ranks[0].err,
              HasSubstr("resumed from " + (killed / "checkpoints/step_3").string()));

  // Weights (final and step 6) and optimizer state: bitwise.
  const auto a = tensors(straight() / "final"), b = tensors(killed / "final");
  ASSERT_EQ(a.size(), b.size());
  for (const auto& [name, t] : a) EXPECT_TRUE(at::equal(t, b.at(name))) << name;
  for (const char* f : {"model/model.safetensors", "optimizer/optimizer-00001-of-00001.safetensors"}) {
    EXPECT_EQ(read_file(straight() / "checkpoints/step_6" / f), read_file(killed / "checkpoints/step_6" / f)) << f;
  }
  // The trainer state too, but for the metrics offset: the lines carry wall-clock times.
  auto state_a = nlohmann::json::parse(read_file(straight() / "checkpoints/step_6/trainer_state.json"));
  auto state_b = nlohmann::json::parse(read_file(killed / "checkpoints/step_6/trainer_state.json"));
  EXPECT_EQ(state_b["metrics_offset"], std::filesystem::file_size(killed / "metrics.jsonl"));
  state_a.erase("metrics_offset");
  state_b.erase("metrics_offset");
  EXPECT_EQ(state_a, state_b);
  // Metrics: steps 1..6 once each; 4-6 identical but for wall-clock times. Rollouts identical.
  const auto m = metric_lines(killed / "metrics.jsonl");
  ASSERT_EQ(m.size(), 6u);
  for (int i = 0; i < 6; ++i) EXPECT_EQ(m[i]["step"], i + 1);
  for (int i = 3; i < 6; ++i) {
    EXPECT_EQ(without_times(m[i]), without_times(straight_metrics[i])) << "step " << i + 1;
    const auto name = fmt::format("rollouts/step_{}.jsonl", i + 1);
    EXPECT_EQ(read_file(killed / name), read_file(straight() / name)) << name;
  }
}

TEST_F(TrainResume, TwoRanksThenOneRankMatchesTheStraightRun) {
  const auto dir = run_->dir / "two_then_one";
  auto two = run_program_ranks(2, VISRL_TRAIN_BIN, args(config_, dir, {"--max-steps", "3"}), std::chrono::seconds(400));
  ASSERT_TRUE(two.ok()) << two.summary();
  ASSERT_EQ(read_file(dir / "checkpoints/latest"), "step_3\n");
  EXPECT_TRUE(fs::exists(dir / "checkpoints/step_3/optimizer/optimizer-00002-of-00002.safetensors"));
  auto one = run_program_ranks(1, VISRL_TRAIN_BIN, args(config_, dir, {"--resume", "auto"}), std::chrono::seconds(400));
  ASSERT_TRUE(one.ok()) << one.summary();
  EXPECT_THAT(one.ranks[0].out + one.ranks[0].err, HasSubstr("saved by 2 rank(s)) on 1 rank(s)"));

  const auto a = tensors(straight() / "final"), b = tensors(dir / "final");
  double worst = 0;
  for (const auto& [name, t] : a) worst = std::max(worst, (t - b.at(name)).abs().max().item<double>());
  EXPECT_LE(worst, 1e-5);
  std::cout << fmt::format("2 ranks -> 1 rank vs straight: max |diff| {:.3g}\n", worst);
  const auto m = metric_lines(dir / "metrics.jsonl"), s = metric_lines(straight() / "metrics.jsonl");
  ASSERT_EQ(m.size(), 6u);
  for (int i = 3; i < 6; ++i) {
    EXPECT_NEAR(m[i]["reward_mean"].get<double>(), s[i]["reward_mean"].get<double>(), 1e-6) << "step " << i + 1;
  }
}

// A checkpoint as the start of a new run directory, with its own config.yaml (no --config).
TEST_F(TrainResume, ACheckpointStartsABranchInAnotherRunDirectory) {
  const auto branch = run_->dir / "branch";
  auto result = run_program_ranks(
      1, VISRL_TRAIN_BIN, {"--resume", (straight() / "checkpoints/step_3/").string(), "--run-dir", branch.string()},
      std::chrono::seconds(400));
  ASSERT_TRUE(result.ok()) << result.summary();
  const auto m = metric_lines(branch / "metrics.jsonl");
  ASSERT_EQ(m.size(), 3u);
  EXPECT_EQ(m[0]["step"], 4);
  const auto a = tensors(straight() / "final"), b = tensors(branch / "final");
  for (const auto& [name, t] : a) EXPECT_TRUE(at::equal(t, b.at(name))) << name;
  // The source run is untouched.
  EXPECT_EQ(metric_lines(straight() / "metrics.jsonl").size(), 6u);
  EXPECT_TRUE(fs::exists(straight() / "checkpoints/step_6/checkpoint.json"));
}

TEST_F(TrainResume, ExportWritesAServableModelDirectory) {
  const auto out = run_->dir / "exported";
  auto result =
      run_program_ranks(1, VISRL_EXPORT_BIN, {"--checkpoint", straight().string(), "--out", out.string() + "/"},
                        std::chrono::seconds(120));
  ASSERT_TRUE(result.ok()) << result.summary();
  EXPECT_THAT(result.ranks[0].out, HasSubstr("step_6 (step 6)"));
  for (const char* f : {"config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json",
                        "generation_config.json", "preprocessor_config.json"}) {
    EXPECT_TRUE(fs::exists(out / f)) << f;
  }
  const auto a = tensors(straight() / "final"), b = tensors(out);
  for (const auto& [name, t] : a) EXPECT_TRUE(at::equal(t, b.at(name))) << name;
  EXPECT_NO_THROW(policy::load_pretrained(out));
  // transformers serves it: model, tokenizer and processor load, the weights are the file's,
  // a forward with an image runs (tests/policy/model/transformers_loads.py, peers venv).
  const char* cache = std::getenv("VISRL_CACHE");
  const char* home = std::getenv("HOME");
  const fs::path python =
      (cache ? fs::path(cache) : fs::path(home ? home : "/root") / ".cache/visrl") / "venv-peers/bin/python";
  if (fs::exists(python)) {
    auto loads = run_program_ranks(1, python.string(),
                                   {(source_dir() / "tests/policy/model/transformers_loads.py").string(),
                                    (source_dir() / "tests/fixtures/qwen3vl").string(), "tiny:" + out.string()},
                                   std::chrono::seconds(300), {{"HF_HUB_OFFLINE", "1"}, {"TRANSFORMERS_OFFLINE", "1"}});
    EXPECT_TRUE(loads.ok()) << loads.summary();
  } else {
    std::cout << "transformers check skipped: no " << python << " (./scripts/setup --peers)\n";
  }
  // bf16 on request; an existing directory is not replaced without --overwrite.
  auto again = run_program_ranks(1, VISRL_EXPORT_BIN, {"--checkpoint", straight().string(), "--out", out.string()},
                                 std::chrono::seconds(120));
  EXPECT_EQ(again.ranks[0].exit_code, 2);
  EXPECT_THAT(again.ranks[0].err, HasSubstr("--overwrite"));
  auto bf16 = run_program_ranks(1, VISRL_EXPORT_BIN,
                                {"--checkpoint", (straight() / "checkpoints/step_3").string(), "--out", out.string(),
                                 "--dtype", "bfloat16", "--overwrite"},
                                std::chrono::seconds(120));
  ASSERT_TRUE(bf16.ok()) << bf16.summary();
  EXPECT_EQ(safetensors::Checkpoint::open(out).tensor("model.language_model.embed_tokens.weight").scalar_type(),
            at::kBFloat16);
}

// (d) through the programs: --resume PATH refuses a damaged checkpoint with the file named;
// --resume auto and export pass over it to the one before.
TEST_F(TrainResume, ADamagedCheckpointIsRefusedOrSkipped) {
  const auto dir = run_->dir / "damaged";
  fs::create_directories(dir);
  fs::copy(straight() / "checkpoints", dir / "checkpoints", fs::copy_options::recursive);
  const auto weights = dir / "checkpoints/step_6/model/model.safetensors";
  fs::resize_file(weights, fs::file_size(weights) - 100);

  auto explicit_path =
      run_program_ranks(1, VISRL_TRAIN_BIN, args(config_, dir, {"--resume", (dir / "checkpoints/step_6").string()}),
                        std::chrono::seconds(120));
  EXPECT_EQ(explicit_path.ranks[0].exit_code, 1) << explicit_path.summary();
  EXPECT_THAT(explicit_path.ranks[0].err, HasSubstr("model/model.safetensors has"));
  EXPECT_THAT(explicit_path.ranks[0].err, HasSubstr("(truncated)"));

  const auto out = run_->dir / "exported_damaged";
  auto exported = run_program_ranks(1, VISRL_EXPORT_BIN, {"--checkpoint", dir.string(), "--out", out.string()},
                                    std::chrono::seconds(120));
  ASSERT_TRUE(exported.ok()) << exported.summary();
  EXPECT_THAT(exported.ranks[0].out, HasSubstr("skipping a damaged checkpoint"));
  EXPECT_THAT(exported.ranks[0].out, HasSubstr("step_3 (step 3)"));

  auto resumed =
      run_program_ranks(1, VISRL_TRAIN_BIN, args(config_, dir, {"--resume", "auto"}), std::chrono::seconds(400));
  ASSERT_TRUE(resumed.ok()) << resumed.summary();
  const auto said = resumed.ranks[0].out + resumed.ranks[0].err;
  EXPECT_THAT(said, HasSubstr("skipping a damaged checkpoint"));
  EXPECT_THAT(said, HasSubstr("resumed from " + (dir / "checkpoints/step_3").string()));
  // Steps 4-6 again, the same as the straight run; the damaged step_6 was kept aside.
  const auto a = tensors(straight() / "final"), b = tensors(dir / "final");
  for (const auto& [name, t] : a) EXPECT_TRUE(at::equal(t, b.at(name))) << name;
  EXPECT_NO_THROW(trainer::verify_checkpoint(dir / "checkpoints/step_6"));
  EXPECT_EQ(abandoned(dir).size(), 1u);

  // Back to step 3 of the same run, named with a trailing slash: step_6 is set aside again and
  // the metrics of steps 4-6 are moved out before they are written anew.
  auto again = run_program_ranks(1, VISRL_TRAIN_BIN,
                                 args(config_, dir, {"--resume", (dir / "checkpoints/step_3").string() + "/"}),
                                 std::chrono::seconds(400));
  ASSERT_TRUE(again.ok()) << again.summary();
  EXPECT_EQ(abandoned(dir).size(), 2u);
  const auto m = metric_lines(dir / "metrics.jsonl");
  ASSERT_EQ(m.size(), 3u);  // this run directory's metrics hold the resumed steps only
  EXPECT_EQ(m[0]["step"], 4);
  EXPECT_THAT(again.ranks[0].out + again.ranks[0].err, HasSubstr("metrics after step 3 moved to"));
}

}  // namespace
}  // namespace visrl::test
