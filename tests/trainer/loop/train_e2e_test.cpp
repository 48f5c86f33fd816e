// build/bin/train end to end on a tiny policy with the pixel critic: three steps, the
// metrics and rollout logs `ablate` reads, the saved policy; SIGTERM stops after a step.
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "policy/model/hf_checkpoint.h"
#include "reward/formula/rollout_record.h"
#include "tests/support/multiprocess.h"
#include "tests/trainer/loop/tiny_run.h"
#include "trainer/checkpoint/checkpoint_dir.h"

extern char** environ;

namespace visrl::test {
namespace {

TEST(TrainEndToEnd, ThreeStepsWithThePixelCritic) {
  TinyRun run;
  const auto config = run.write_config("config.yaml");
  const auto out = run.dir / "run";
  auto result = run_program_ranks(1, VISRL_TRAIN_BIN, {"--config", config.string(), "--run-dir", out.string()},
                                  std::chrono::seconds(240));
  ASSERT_TRUE(result.ok()) << result.summary();

  const auto metrics = metric_lines(out / "metrics.jsonl");
  ASSERT_EQ(metrics.size(), 3u);
  for (size_t i = 0; i < metrics.size(); ++i) {
    const auto& m = metrics[i];
    EXPECT_EQ(m["step"], i + 1);
    for (const char* key : {"reward_mean",
                            "reward_std",
                            "render_ok_rate",
                            "kl",
                            "entropy",
                            "grad_norm",
                            "lr",
                            "time_generate_s",
                            "time_render_s",
                            "time_critic_s",
                            "time_update_s",
                            "tokens_per_s",
                            "zero_variance_groups",
                            "advantage_std",
                            "clip_frac",
                            "response_len_mean",
                            "critic/parse_failures",
                            "rollout/logprob_diff_mean",
                            "rollout/logprob_diff_max",
                            "update/padding_fraction",
                            "update/tokens_per_micro_batch"}) {
      EXPECT_TRUE(m.contains(key) && m[key].is_number()) << "step " << i + 1 << " lacks " << key << ": " << m.dump();
    }
    EXPECT_GT(m["grad_norm"].get<double>(), 0.0) << m.dump();
    // One engine, float32: generation's log-probs (KV cache, one token at a time) are the
    // update's (one teacher-forced forward) but for the sampler never drawing the vision tokens
    // (their probability, renormalised away: about 5/2048 on this random tiny model).
    EXPECT_LT(m.value("rollout/logprob_diff_max", 1.0), 1e-2) << m.dump();
  }
  // The KL to the reference is 0 before the first update and grows after it.
  EXPECT_EQ(metrics[0]["kl"].get<double>(), 0.0);
  EXPECT_GT(metrics[2]["kl"].get<double>(), 0.0);

  // Every sample of every step, readable by ablate's reader, with reward and advantage.
  const auto records = reward::read_rollouts(out / "rollouts");
  ASSERT_EQ(records.size(), 3u * 4 * 4);
  for (const auto& r : records) {
    EXPECT_TRUE(r.reward.has_value()) << r.sample.id;
    EXPECT_TRUE(r.advantage.has_value()) << r.sample.id;
    EXPECT_TRUE(r.components.count("formula")) << r.sample.id;
  }
  // The trained policy is saved as a Hugging Face directory and differs from the start.
  auto trained = policy::load_pretrained(out / "final");
  auto initial = policy::load_pretrained(run.dir / "model");
  EXPECT_FALSE(at::equal(trained->lm_head_weight(), initial->lm_head_weight()));
  EXPECT_TRUE(std::filesystem::exists(out / "final/tokenizer.json"));
  EXPECT_TRUE(std::filesystem::exists(out / "config.yaml"));
  EXPECT_TRUE(std::filesystem::exists(out / "training_curves.png"));
  EXPECT_THAT(read_file(out / "gallery.html"), ::testing::HasSubstr("data:image/png;base64,"));  // the references
}

// The other algorithm settings on the same run: they train, and they do what they say.
TEST(TrainEndToEnd, GspoEpochsMiniBatchesDynamicSamplingKlInRewardFrozenVisionCheckpointing) {
  TinyRun run;
  const auto config = run.write_config("config.yaml");
  const auto out = run.dir / "run";
  std::vector<std::string> args = {"--config", config.string(), "--run-dir", out.string()};
  for (const char* set :
       {"algorithm.policy_loss=gspo", "algorithm.loss_agg_mode=seq-mean-token-mean", "algorithm.ppo_epochs=2",
        "algorithm.mini_batch_prompts=2", "algorithm.micro_batch_size=3", "algorithm.dynamic_sampling=true",
        "algorithm.kl_in_reward=true", "algorithm.adv_estimator=rloo", "algorithm.overlong_buffer=4",
        "algorithm.entropy_coef=0.01", "model.freeze_vision=true", "model.gradient_checkpointing=true",
        "optim.schedule=cosine", "optim.warmup_steps=1", "logging.images_every=1"}) {
    args.push_back("--set");
    args.push_back(set);
  }
  auto result = run_program_ranks(1, VISRL_TRAIN_BIN, args, std::chrono::seconds(240));
  ASSERT_TRUE(result.ok()) << result.summary();
  const auto metrics = metric_lines(out / "metrics.jsonl");
  ASSERT_EQ(metrics.size(), 3u);
  EXPECT_EQ(metrics[0]["lr"].get<double>(), 0.0);  // warmup starts at 0
  EXPECT_GT(metrics[1]["lr"].get<double>(), 0.0);
  for (const auto& m : metrics) {
    // Kept groups only: at most 4 prompts, in mini-batches of 2, two epochs.
    const auto groups = m["trained_groups"].get<int64_t>();
    EXPECT_LE(groups, 4) << m.dump();
    EXPECT_EQ(m["optimizer_steps"].get<int64_t>(), groups == 0 ? 0 : 2 * ((groups + 1) / 2)) << m.dump();
    EXPECT_GE(m["rollout_rounds"].get<int64_t>(), 1);
  }
  const auto records = reward::read_rollouts(out / "rollouts");
  int64_t with_kl = 0;
  for (const auto& r : records) {
    EXPECT_TRUE(r.components.count("overlong_penalty")) << r.sample.id;
    with_kl += r.components.count("kl_penalty");
  }
  EXPECT_GT(with_kl, 0);
  // The vision tower (but not its merger) is frozen.
  auto trained = policy::load_pretrained(out / "final");
  auto initial = policy::load_pretrained(run.dir / "model");
  auto initial_params = initial->named_parameters();
  int64_t vision_checked = 0;
  for (const auto& p : trained->named_parameters()) {
    const bool vision = p.key().rfind("model.visual.", 0) == 0 && p.key().find("merger") == std::string::npos;
    if (vision) {
      EXPECT_TRUE(at::equal(p.value(), initial_params[p.key()])) << p.key() << " changed although frozen";
      ++vision_checked;
    }
  }
  EXPECT_GT(vision_checked, 5);
}

// A folder of SVG code without images: the references are rendered into the run directory
// before training.
TEST(TrainEndToEnd, TrainsOnAFolderOfCodeWhoseReferencesItRenders) {
  TinyRun run;
  for (int i = 0; i < 4; ++i) {
    run.dir.write(fmt::format("svgs/s{}.svg", i),
                  fmt::format("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"64\" height=\"64\"><rect x=\"{}\" "
                              "y=\"8\" width=\"30\" height=\"30\" fill=\"#1f77b4\"/></svg>\n",
                              4 + 6 * i));
  }
  const auto config = run.write_config("config.yaml");
  const auto out = run.dir / "run";
  auto result = run_program_ranks(1, VISRL_TRAIN_BIN,
                                  {"--config", config.string(), "--run-dir", out.string(), "--set",
                                   "data.train=[" + (run.dir / "svgs").string() + "]", "--set", "optim.total_steps=1"},
                                  std::chrono::seconds(240));
  ASSERT_TRUE(result.ok()) << result.summary();
  int rendered = 0;
  for (const auto& e : std::filesystem::directory_iterator(out / "references/svg"))
    rendered += e.path().extension() == ".png";
  EXPECT_EQ(rendered, 4);
  EXPECT_EQ(metric_lines(out / "metrics.jsonl").size(), 1u);
}

// SIGTERM and SIGUSR1 (Slurm's warning) both stop after the current step with a checkpoint.
void stops_cleanly_with_a_checkpoint(int signal) {
  TinyRun run;
  const auto config = run.write_config("config.yaml");
  const auto out = run.dir / "run";
  const std::string bin = VISRL_TRAIN_BIN;
  std::vector<std::string> args = {bin,          "--config", config.string(),           "--run-dir",
                                   out.string(), "--set",    "optim.total_steps=100000"};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = 0;
  ASSERT_EQ(posix_spawn(&pid, bin.c_str(), nullptr, nullptr, argv.data(), environ), 0);
  // Wait for the first step's metrics, then ask it to stop.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while (metric_lines(out / "metrics.jsonl").empty() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_FALSE(metric_lines(out / "metrics.jsonl").empty()) << "no step finished in time";
  kill(pid, signal);
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status)) << "ended by signal " << WTERMSIG(status);
  EXPECT_EQ(WEXITSTATUS(status), 0);
  const auto steps = metric_lines(out / "metrics.jsonl").size();
  EXPECT_LT(steps, 1000u);
  // Every finished step is logged whole, and the policy is saved.
  EXPECT_TRUE(std::filesystem::exists(out / fmt::format("rollouts/step_{}.jsonl", steps)));
  EXPECT_TRUE(std::filesystem::exists(out / "final/model.safetensors"));
  const auto checkpoint = out / fmt::format("checkpoints/step_{}", steps);
  EXPECT_NO_THROW(trainer::verify_checkpoint(checkpoint));
  EXPECT_EQ(read_file(out / "checkpoints/latest"), fmt::format("step_{}\n", steps));
}

TEST(TrainEndToEnd, SigtermStopsCleanlyAfterTheCurrentStepWithACheckpoint) {
  stops_cleanly_with_a_checkpoint(SIGTERM);
}

TEST(TrainEndToEnd, Sigusr1StopsCleanlyAfterTheCurrentStepWithACheckpoint) {
  stops_cleanly_with_a_checkpoint(SIGUSR1);
}

}  // namespace
}  // namespace visrl::test
