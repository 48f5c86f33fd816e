// (c) kill -9 at random moments during saves: a 2-rank job (ZeRO-1: each rank writes its
// optimizer shard) does nothing but save checkpoints (keeping the last 2, so it also prunes)
// into one directory, continuing after its predecessors; both ranks are SIGKILLed at a random
// moment, 50 times. After every kill the newest complete checkpoint is found, verifies, and is
// consistent with itself (weights, every optimizer step and the trainer state from the same
// save, loaded on 1 rank), and `latest` names a complete checkpoint.
#include <fstream>
#include <random>

#include <gtest/gtest.h>

#include "policy/model/hf_checkpoint.h"
#include "policy/model/tiny_model.h"
#include "tests/support/multiprocess.h"
#include "tests/test_util.h"
#include "tests/trainer/distributed/dist_test_util.h"
#include "trainer/checkpoint/checkpoint_dir.h"
#include "trainer/checkpoint/checkpoint_io.h"

namespace visrl::trainer {
namespace {
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

std::vector<std::pair<std::string, at::Tensor>> named_params(policy::Qwen3VL& model) {
  std::vector<std::pair<std::string, at::Tensor>> out;
  for (auto& p : model->named_parameters()) out.emplace_back(p.key(), p.value());
  return out;
}

// The child: save step k = (newest complete) + 1, k + 1, ... with every weight equal to k and
// AdamW having taken k steps, until killed.
void save_forever(const fs::path& model_dir, const fs::path& checkpoints, const fs::path& alive) {
  auto comm = testing::rank_communicator();
  auto model = policy::load_pretrained(model_dir);
  auto named = named_params(model);
  ShardedAdamW opt(named, AdamWOptions{}, *comm, /*shard=*/true);
  int64_t step = 1;
  if (auto newest = newest_complete_checkpoint(checkpoints, nullptr)) {
    load_optimizer_state(*newest, opt);
    step = *checkpoint_step(*newest) + 1;
  }
  std::ofstream(alive) << "saving\n";
  for (;; ++step) {
    {
      at::NoGradGuard no_grad;
      for (auto& [name, p] : named) p.fill_(static_cast<double>(step));
    }
    for (auto& [name, p] : named) p.mutable_grad() = at::ones_like(p);
    opt.step(0.0);  // lr 0: the weights stay `step`; the state counts the steps
    CheckpointContents c;
    c.policy = model.get();
    c.optimizer = &opt;
    c.state.step = step;
    c.config_yaml = "seed: 1\n";
    c.assets_from = model_dir;
    save_checkpoint(checkpoints, c, *comm);
    if (comm->is_main()) prune_checkpoints(checkpoints, 2, 0);
  }
}

TEST(CheckpointKill, FiftyKillsDuringSavesAlwaysLeaveACompleteCheckpoint) {
  const char* model_var = std::getenv("VISRL_TEST_MODEL_DIR");
  if (visrl::test::in_scenario("save_forever")) {
    save_forever(model_var, std::getenv("VISRL_TEST_CKPT_DIR"), std::getenv("VISRL_TEST_ALIVE"));
    return;
  }
  visrl::test::TempDir dir;
  policy::TinyModelOptions options;
  options.tokenizer_dir = visrl::test::source_dir() / "tests/fixtures/tokenizer/tiny";
  policy::save_tiny_model(dir / "model", options);
  const auto checkpoints = dir / "checkpoints";
  std::mt19937 rng(12345);
  std::uniform_int_distribution<int> delay_us(0, 150000);
  int mid_write = 0;
  int64_t previous = 0;
  constexpr int kKills = 50;
  for (int i = 0; i < kKills; ++i) {
    const auto alive = dir / fmt::format("alive_{}", i);
    std::optional<Clock::time_point> kill_at;
    const int delay = delay_us(rng);
    auto result = visrl::test::run_ranks(1, "save_forever", std::chrono::seconds(120),
                                         {{"VISRL_TEST_MODEL_DIR", (dir / "model").string()},
                                          {"VISRL_TEST_CKPT_DIR", checkpoints.string()},
                                          {"VISRL_TEST_ALIVE", alive.string()}},
                                         [&] {
                                           // Armed once the child is saving and a first checkpoint exists; then a
                                           // random delay.
                                           if (!kill_at) {
                                             if (!fs::exists(alive) || !fs::exists(checkpoints / "latest"))
                                               return false;
                                             kill_at = Clock::now() + std::chrono::microseconds(delay);
                                           }
                                           return Clock::now() >= *kill_at;
                                         });
    ASSERT_TRUE(result.killed) << "kill " << i << ": " << result.summary();
    for (const auto& entry : fs::directory_iterator(checkpoints)) {
      if (entry.path().extension() == ".tmp") ++mid_write;
    }

    std::vector<std::string> skipped;
    const auto newest = newest_complete_checkpoint(checkpoints, &skipped);
    ASSERT_TRUE(newest.has_value()) << "kill " << i << ": no complete checkpoint";
    EXPECT_TRUE(skipped.empty()) << "kill " << i << ": a step_<N> directory is damaged: " << skipped.front();
    auto latest = visrl::test::read_file(checkpoints / "latest");
    if (!latest.empty() && latest.back() == '\n') latest.pop_back();
    EXPECT_NO_THROW(verify_checkpoint(checkpoints / latest)) << "kill " << i << ": latest names " << latest;
    const auto opened = open_checkpoint(*newest);
    const int64_t step = opened.state.step;
    EXPECT_EQ(checkpoint_step(*newest), step);
    EXPECT_GE(step, previous) << "kill " << i << ": the newest checkpoint went backwards";
    previous = step;
    auto model = policy::load_pretrained(opened.model_dir());
    for (auto& p : model->named_parameters()) {
      ASSERT_TRUE(at::equal(p.value(), at::full_like(p.value(), static_cast<double>(step)))) << p.key();
    }
    auto comm = testing::single_communicator();
    auto named = named_params(model);
    ShardedAdamW opt(named, AdamWOptions{}, *comm, /*shard=*/false);
    load_optimizer_state(*newest, opt);
    for (const auto& name : opt.held_names()) ASSERT_EQ(opt.state(name).step, step) << name;
  }
  // The kills landed while files were being written, not only between saves.
  std::cout << fmt::format("{} kills, {} left a step_<N>.tmp behind; newest checkpoint step {}\n", kKills, mid_write,
                           previous);
  EXPECT_GE(mid_write, 10);
}

}  // namespace
}  // namespace visrl::trainer
