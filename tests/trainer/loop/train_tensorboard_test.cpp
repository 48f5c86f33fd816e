// build/bin/train's TensorBoard log (logging.backends: [tensorboard]) read back by TensorBoard's
// own EventAccumulator (tests/trainer/report/check_tensorboard.py, tools virtualenv): every
// scalar of metrics.jsonl at its step as float32, the histograms, the rollout images (decoded)
// with their texts, the config; then a run killed after step 3 and resumed from step 2's
// checkpoint: the first file's step 3 is superseded, no step appears twice; and README.md's
// `tensorboard --logdir runs/` serves the runs.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/support/multiprocess.h"
#include "tests/support/tools_python.h"
#include "tests/trainer/loop/svg_run.h"

namespace visrl::test {
namespace {
namespace fs = std::filesystem;

// serve_from: also run README.md's `tensorboard --logdir runs/` there.
MultiProcessResult check_tensorboard(const fs::path& run_dir, const fs::path& serve_from = {}) {
  std::vector<std::string> args = {(source_dir() / "tests/trainer/report/check_tensorboard.py").string(),
                                   run_dir.string(), "--images-every", "2"};
  if (!serve_from.empty()) args.insert(args.end(), {"--serve-from", serve_from.string()});
  return run_program_ranks(1, tools_python(), args, std::chrono::seconds(180));
}

TEST(TrainTensorBoard, EventFilesHoldEveryMetricImagesAndTextsAlsoAfterAResume) {
  SvgRun run;
  const auto config = run.svg_config(R"(checkpoint:
  every_steps: 2
logging:
  images_every: 2
  backends: [jsonl, tensorboard]
)");
  const auto straight = run.dir / "runs/straight";
  auto result = run_program_ranks(1, VISRL_TRAIN_BIN, {"--config", config.string(), "--run-dir", straight.string()},
                                  std::chrono::seconds(300));
  ASSERT_TRUE(result.ok()) << result.summary();
  auto checked = check_tensorboard(straight);
  std::cout << checked.ranks[0].out;
  EXPECT_TRUE(checked.ok()) << checked.summary();

  // kill -9 once step 3 is logged (its TensorBoard events written), then --resume auto from step_2.
  const auto resumed = run.dir / "runs/resumed";
  auto first = run_program_ranks(1, VISRL_TRAIN_BIN, {"--config", config.string(), "--run-dir", resumed.string()},
                                 std::chrono::seconds(300), {},
                                 [&] { return metric_lines(resumed / "metrics.jsonl").size() >= 3; });
  ASSERT_TRUE(first.killed) << first.summary();
  auto second = run_program_ranks(1, VISRL_TRAIN_BIN,
                                  {"--config", config.string(), "--run-dir", resumed.string(), "--resume", "auto"},
                                  std::chrono::seconds(300));
  ASSERT_TRUE(second.ok()) << second.summary();
  EXPECT_THAT(second.ranks[0].out + second.ranks[0].err, ::testing::HasSubstr("resumed from"));
  int files = 0;
  for (const auto& e : fs::directory_iterator(resumed / "tensorboard"))
    files += e.path().filename().string().rfind("events.out.tfevents.", 0) == 0;
  EXPECT_EQ(files, 2);
  checked = check_tensorboard(resumed, run.dir.path());
  std::cout << checked.ranks[0].out;
  EXPECT_TRUE(checked.ok()) << checked.summary();
}

}  // namespace
}  // namespace visrl::test
