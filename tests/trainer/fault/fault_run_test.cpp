// Faults inside a run, each through build/bin/train on the tiny policy (tests/cluster/README.md):
//   FaultNonFinite: NaN losses injected on one of two ranks (VISRL_INJECT_NAN_LOSS): both ranks
//     skip those updates and count them (bad_step, bad_updates); optim.max_bad_steps in a row stop
//     the run with a message and a checkpoint holding the last good weights.
//   FaultDiskFull: the run directory on a small tmpfs, so that the second checkpoint cannot be
//     written: the error names the directory and its free space, the half-written checkpoint is
//     removed, step_1 and `latest` stay intact; checkpoint.on_save_error decides whether the run
//     goes on (continue) or ends (stop). Needs root to mount the tmpfs; skipped without.
#include <sys/mount.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "core/safetensors.h"
#include "tests/support/multiprocess.h"
#include "tests/trainer/loop/tiny_run.h"
#include "trainer/checkpoint/checkpoint_dir.h"

namespace visrl::test {
namespace {
namespace fs = std::filesystem;
using ::testing::HasSubstr;

std::vector<std::string> train_args(const fs::path& config, const fs::path& run_dir) {
  return {"--config", config.string(), "--run-dir", run_dir.string()};
}

// TinyRun's config (base.yaml) with `changes` on top (a config that extends it).
fs::path config_with(TinyRun& run, const std::string& changes) {
  run.write_config("base.yaml");
  return run.dir.write("config.yaml", "extends: base.yaml\n" + changes);
}

std::string output_of(const MultiProcessResult& r) {
  std::string all;
  for (const auto& rank : r.ranks) all += rank.out + rank.err;
  return all;
}

TEST(FaultNonFinite, NanLossesAreSkippedOnEveryRankThenStopTheRunWithTheLastGoodWeights) {
  TinyRun run;
  const auto config = config_with(run, R"(optim:
  lr: 1.0e-3
  total_steps: 8
  max_bad_steps: 3
checkpoint:
  every_steps: 2
  keep_last: 10
)");
  const auto dir = run.dir / "run";
  // Step 3 alone, then 5, 6, 7 in a row; the NaN is on the last rank only.
  auto result = run_program_ranks(2, VISRL_TRAIN_BIN, train_args(config, dir), std::chrono::seconds(400),
                                  {{"VISRL_INJECT_NAN_LOSS", "3,5,6,7"}});
  ASSERT_FALSE(result.timed_out) << result.summary();
  EXPECT_EQ(result.ranks[0].exit_code, 1) << result.summary();
  EXPECT_EQ(result.ranks[1].exit_code, 1) << result.summary();
  const auto said = output_of(result);
  EXPECT_THAT(said, HasSubstr("3 steps in a row had a NaN/inf loss or gradient (the last at step 7; "
                              "optim.max_bad_steps: 3), so none was applied: stopping. The weights are those after "
                              "step 4, saved as checkpoint step_7"))
      << result.summary();

  const auto m = metric_lines(dir / "metrics.jsonl");
  ASSERT_EQ(m.size(), 7u) << result.summary();
  for (int step = 1; step <= 7; ++step) {
    const bool bad = step == 3 || step >= 5;
    const auto& line = m[static_cast<size_t>(step - 1)];
    EXPECT_EQ(line["bad_step"], bad ? 1 : 0) << "step " << step;
    EXPECT_EQ(line["bad_updates"], bad ? 1 : 0) << "step " << step;
    EXPECT_EQ(line["grad_norm"].is_null(), bad) << "step " << step;  // NaN is written as null
  }
  // Skipped updates leave the weights alone: step 7's checkpoint holds step 4's weights (and
  // step 2's are not step 4's: step 4 did train).
  const auto weights = [&](int step) {
    return read_file(dir / fmt::format("checkpoints/step_{}/model/model.safetensors", step));
  };
  EXPECT_EQ(weights(7), weights(4));
  EXPECT_EQ(weights(6), weights(4));
  EXPECT_NE(weights(4), weights(2));
  EXPECT_EQ(read_file(dir / "checkpoints/latest"), "step_7\n");
  EXPECT_FALSE(fs::exists(dir / "final"));
}

// A tmpfs of `mib` MiB mounted on `dir` for the life of the object.
class Tmpfs {
 public:
  Tmpfs(const fs::path& dir, int mib) : dir_(dir) {
    fs::create_directories(dir);
    mounted_ = ::mount("tmpfs", dir.c_str(), "tmpfs", 0, fmt::format("size={}m", mib).c_str()) == 0;
    if (!mounted_) why_ = std::strerror(errno);
  }
  ~Tmpfs() {
    if (mounted_) ::umount2(dir_.c_str(), MNT_DETACH);
  }
  bool mounted() const { return mounted_; }
  const std::string& why() const { return why_; }

 private:
  fs::path dir_;
  bool mounted_ = false;
  std::string why_;
};

// A checkpoint of the tiny policy takes about 4.3 MiB (weights 1.4, AdamW moments 2.8, the
// tokenizer), final/ 1.5 MiB: 8 MiB hold step_1 and final/ but not step_2 beside step_1.
constexpr int kTmpfsMib = 8;

class FaultDiskFull : public ::testing::TestWithParam<std::string> {};

TEST_P(FaultDiskFull, AFailedSaveIsRemovedAndReportedAndOnSaveErrorDecides) {
  const std::string policy = GetParam();
  if (::geteuid() != 0) GTEST_SKIP() << "mounting a small tmpfs needs root (CI runs as root)";
  TinyRun run;
  const auto dir = run.dir / "run";
  Tmpfs disk(dir, kTmpfsMib);
  ASSERT_TRUE(disk.mounted()) << "root cannot mount a tmpfs on " << dir << ": " << disk.why();
  const auto config = config_with(run, fmt::format(R"(optim:
  total_steps: 4
checkpoint:
  every_steps: 1
  on_save_error: {}
)",
                                                   policy));
  auto result = run_program_ranks(1, VISRL_TRAIN_BIN, train_args(config, dir), std::chrono::seconds(400));
  ASSERT_FALSE(result.timed_out) << result.summary();
  const auto said = output_of(result);
  const auto checkpoints = (dir / "checkpoints").string();
  EXPECT_THAT(said, HasSubstr(fmt::format("checkpoint step_2 could not be saved in {} (", checkpoints)));
  EXPECT_THAT(said, ::testing::ContainsRegex("\\([0-9.]+ MiB free there; step_1 \\([0-9.]+ MiB\\) stays the newest "
                                             "checkpoint\\): .*No space left on device"))
      << result.summary();
  // step_1 and `latest` are intact; nothing half-written is left.
  EXPECT_EQ(read_file(dir / "checkpoints/latest"), "step_1\n");
  EXPECT_NO_THROW(trainer::verify_checkpoint(dir / "checkpoints/step_1"));
  for (const auto& e : fs::directory_iterator(dir / "checkpoints"))
    EXPECT_EQ(e.path().filename().string().find(".tmp"), std::string::npos) << e.path();
  const auto m = metric_lines(dir / "metrics.jsonl");
  if (policy == "continue") {
    EXPECT_EQ(result.ranks[0].exit_code, 0) << result.summary();
    EXPECT_THAT(said, HasSubstr("training goes on (checkpoint.on_save_error: continue)"));
    EXPECT_EQ(m.size(), 4u);  // steps 3 and 4 trained (their saves failed the same way)
    EXPECT_TRUE(fs::exists(dir / "final/model.safetensors")) << result.summary();
  } else {
    EXPECT_EQ(result.ranks[0].exit_code, 1) << result.summary();
    EXPECT_THAT(said, HasSubstr("stopping (checkpoint.on_save_error: stop): make room, then continue with --resume "
                                "auto"));
    EXPECT_EQ(m.size(), 2u);
  }
}

INSTANTIATE_TEST_SUITE_P(OnSaveError, FaultDiskFull, ::testing::Values("continue", "stop"));

}  // namespace
}  // namespace visrl::test
