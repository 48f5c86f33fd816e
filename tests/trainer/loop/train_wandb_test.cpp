// build/bin/train's Weights & Biases log (README.md's config block: mode offline) read back
// with wandb's own reader (tests/trainer/report/check_wandb.py, tools virtualenv): the offline run
// holds every scalar of metrics.jsonl at its step with its value, the histograms, decodable
// rollout images and their texts, the config, name, group and tags; the API key in the
// environment appears in no file of the run. Then the sidecar SIGKILLed mid-run: training goes
// on and the restarted sidecar logs the rest into the same run. Then train killed after step 3
// and resumed from step 2: the same run id, and the steps logged twice have the same values.
#include <signal.h>

#include <fstream>
#include <iterator>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/render/process_util.h"
#include "tests/support/multiprocess.h"
#include "tests/support/tools_python.h"
#include "tests/trainer/loop/svg_run.h"

namespace visrl::test {
namespace {
namespace fs = std::filesystem;

constexpr const char* kSecret = "visrl-test-secret-4f1d9c";

// Live W&B sidecars: processes whose command line holds the sidecar's script.
std::set<pid_t> sidecars() {
  std::set<pid_t> pids;
  for (const auto& [parent, children] : live_children()) {
    for (pid_t pid : children) {
      std::ifstream in(fs::path("/proc") / std::to_string(pid) / "cmdline", std::ios::binary);
      const std::string cmdline((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      if (cmdline.find("visrl's Weights & Biases sidecar") != std::string::npos) pids.insert(pid);
    }
  }
  return pids;
}

MultiProcessResult check_wandb(const fs::path& run_dir, const std::string& steps) {
  return run_program_ranks(
      1, tools_python(),
      {(source_dir() / "tests/trainer/report/check_wandb.py").string(), run_dir.string(), "--steps", steps,
       "--images-every", "2", "--project", "visrl-test", "--group", "ablation-a", "--tags", "tiny,svg"},
      std::chrono::seconds(180));
}

// Files under `dir` that contain `needle`.
std::vector<fs::path> files_containing(const fs::path& dir, const std::string& needle) {
  std::vector<fs::path> found;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    if (!e.is_regular_file()) continue;
    std::ifstream in(e.path(), std::ios::binary);
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (text.find(needle) != std::string::npos) found.push_back(e.path());
  }
  return found;
}

TEST(TrainWandb, OfflineRunHoldsEveryMetricAndOutlivesAKilledSidecarAndAResume) {
  SvgRun run;
  // README.md's W&B config block, as printed, under the test's own project, group, tags and Python.
  const std::string readme = read_file(source_dir() / "README.md");
  const std::string open = "Add it to a config:\n\n```yaml\n";
  const auto at = readme.find(open);
  ASSERT_NE(at, std::string::npos) << "README.md's W&B config block";
  const std::string block = readme.substr(at + open.size(), readme.find("```", at + open.size()) - at - open.size());
  EXPECT_THAT(block, ::testing::HasSubstr("mode: offline"));
  run.svg_config("checkpoint:\n  every_steps: 2\nlogging:\n  images_every: 2\n");
  run.dir.write("readme.yaml", "extends: config.yaml\n" + block);
  const auto config = run.dir.write("wandb.yaml", fmt::format(R"(extends: readme.yaml
logging:
  wandb:
    project: visrl-test
    group: ablation-a
    tags: [tiny, svg]
    python: {}
)",
                                                              tools_python()));
  const auto home = run.dir / "wandb-home";  // wandb's own settings and caches, not the user's
  const std::map<std::string, std::string> env = {{"WANDB_API_KEY", kSecret},
                                                  {"WANDB_CONFIG_DIR", (home / "config").string()},
                                                  {"WANDB_CACHE_DIR", (home / "cache").string()},
                                                  {"WANDB_DATA_DIR", (home / "data").string()}};
  const auto train = [&](const fs::path& run_dir, const std::vector<std::string>& extra, const KillWhen& kill_when) {
    std::vector<std::string> args = {"--config", config.string(), "--run-dir", run_dir.string()};
    args.insert(args.end(), extra.begin(), extra.end());
    return run_program_ranks(1, VISRL_TRAIN_BIN, args, std::chrono::seconds(300), env, kill_when);
  };

  const auto straight = run.dir / "runs/straight";
  auto result = train(straight, {}, {});
  ASSERT_TRUE(result.ok()) << result.summary();
  EXPECT_THAT(result.ranks[0].out + result.ranks[0].err, ::testing::HasSubstr("W&B: run "));
  auto checked = check_wandb(straight, "1,2,3,4,5,6");
  std::cout << checked.ranks[0].out;
  EXPECT_TRUE(checked.ok()) << checked.summary();
  EXPECT_THAT(files_containing(run.dir.path(), kSecret), ::testing::IsEmpty());

  // The sidecar SIGKILLed once step 2 is logged: the run goes on, the sidecar is started again
  // and continues the same W&B run; steps 3-6 reach it whole.
  const auto restarted = run.dir / "runs/restarted";
  bool killed = false;
  result = train(restarted, {}, [&] {
    if (!killed && metric_lines(restarted / "metrics.jsonl").size() >= 2) {
      for (pid_t pid : sidecars()) killed |= kill(pid, SIGKILL) == 0;
    }
    return false;
  });
  ASSERT_TRUE(killed);
  ASSERT_TRUE(result.ok()) << result.summary();
  EXPECT_THAT(result.ranks[0].out + result.ranks[0].err, ::testing::HasSubstr("starting it again (restart 1 of 3)"));
  EXPECT_EQ(metric_lines(restarted / "metrics.jsonl").size(), 6u);
  checked = check_wandb(restarted, "3,4,5,6");
  std::cout << checked.ranks[0].out;
  EXPECT_TRUE(checked.ok()) << checked.summary();

  // train killed once step 3 is logged, then --resume auto from step_2: the W&B run goes on
  // under the same id; step 3, logged by both attempts, has the same values (exact resume).
  const auto resumed = run.dir / "runs/resumed";
  auto first = train(resumed, {}, [&] { return metric_lines(resumed / "metrics.jsonl").size() >= 3; });
  ASSERT_TRUE(first.killed) << first.summary();
  auto second = train(resumed, {"--resume", "auto"}, {});
  ASSERT_TRUE(second.ok()) << second.summary();
  // The killed run's sidecar finishes its run by itself once its pipe closes.
  ASSERT_TRUE(wait_until([] { return sidecars().empty(); }));
  checked = check_wandb(resumed, "3,4,5,6");
  std::cout << checked.ranks[0].out;
  EXPECT_TRUE(checked.ok()) << checked.summary();
  EXPECT_THAT(checked.ranks[0].out, ::testing::HasSubstr("2 offline run file(s)"));
  EXPECT_THAT(files_containing(run.dir / "runs", kSecret), ::testing::IsEmpty());
}

}  // namespace
}  // namespace visrl::test
