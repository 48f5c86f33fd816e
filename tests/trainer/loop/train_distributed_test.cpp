// The trainer over real Gloo process groups on loopback: two ranks end every step with the
// same parameters, equal (1e-5) to one process on the same global batch; a rank that dies
// makes the other fail with a clear message within the collective timeout.
#include <csignal>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/run_dir.h"
#include "policy/model/hf_checkpoint.h"
#include "tests/support/multiprocess.h"
#include "tests/trainer/loop/tiny_run.h"
#include "trainer/distributed/communicator.h"
#include "trainer/distributed/launch_env.h"
#include "trainer/loop/trainer.h"

namespace visrl::test {
namespace {

using ::testing::HasSubstr;

// In a rank: trains with the config at $VISRL_TEST_CONFIG and saves this rank's parameters
// to $VISRL_TEST_OUT/rank<r>.
void train_as_rank(bool die_before_training) {
  const auto loaded = load_config(std::getenv("VISRL_TEST_CONFIG"), {});
  const auto env = trainer::launch_env([](const char* name) { return std::getenv(name); });
  auto comm = trainer::Communicator::create(env, "gloo", loaded.config.distributed.timeout_s, at::kCPU);
  RunDir run_dir(std::filesystem::path(std::getenv("VISRL_TEST_OUT")) / "run");
  trainer::Trainer trainer(loaded.config, run_dir, *comm);
  if (die_before_training && comm->rank() == 1) std::raise(SIGKILL);
  std::atomic<bool> stop{false};
  EXPECT_EQ(trainer.run(stop), 3);
  policy::save_pretrained(trainer.policy(),
                          std::filesystem::path(std::getenv("VISRL_TEST_OUT")) / fmt::format("rank{}", comm->rank()));
}

std::map<std::string, at::Tensor> parameters(const std::filesystem::path& dir) {
  std::map<std::string, at::Tensor> out;
  auto model = policy::load_pretrained(dir);
  for (const auto& p : model->named_parameters()) out[p.key()] = p.value().clone();
  return out;
}

TEST(TrainDistributed, TwoGlooRanksMatchEachOtherAndOneProcess) {
  if (in_scenario("train")) return train_as_rank(false);
  TinyRun run;
  const auto config = run.write_config("config.yaml");
  const auto one = run.dir / "one", two = run.dir / "two";
  auto single = run_ranks(1, "train", std::chrono::seconds(240),
                          {{"VISRL_TEST_CONFIG", config.string()}, {"VISRL_TEST_OUT", one.string()}});
  ASSERT_TRUE(single.ok()) << single.summary();
  auto pair = run_ranks(2, "train", std::chrono::seconds(240),
                        {{"VISRL_TEST_CONFIG", config.string()}, {"VISRL_TEST_OUT", two.string()}});
  ASSERT_TRUE(pair.ok()) << pair.summary();

  const auto reference = parameters(one / "rank0");
  const auto rank0 = parameters(two / "rank0");
  const auto rank1 = parameters(two / "rank1");
  const auto initial = parameters(run.dir / "model");
  ASSERT_EQ(reference.size(), rank0.size());
  int64_t moved = 0;
  for (const auto& [name, p] : reference) {
    EXPECT_TRUE(at::equal(rank0.at(name), rank1.at(name))) << name << " differs between the ranks";
    EXPECT_TRUE(at::allclose(rank0.at(name), p, 0, 1e-5))
        << name << ": 2 ranks vs 1 process, max diff " << (rank0.at(name) - p).abs().max().item<double>();
    if (!at::equal(p, initial.at(name))) ++moved;
  }
  EXPECT_GT(moved, 10) << "training changed almost no parameter";
  // The same samples were drawn: the rollout logs agree.
  for (int step = 1; step <= 3; ++step) {
    const auto name = fmt::format("run/rollouts/step_{}.jsonl", step);
    EXPECT_EQ(read_file(one / name), read_file(two / name)) << name;
  }
}

TEST(TrainDistributed, AKilledRankFailsTheOtherWithAClearMessage) {
  if (in_scenario("killed")) return train_as_rank(true);
  TinyRun run;
  const auto config = run.write_config("config.yaml", "distributed:\n  timeout_s: 5\n");
  auto result = run_ranks(2, "killed", std::chrono::seconds(120),
                          {{"VISRL_TEST_CONFIG", config.string()}, {"VISRL_TEST_OUT", (run.dir / "out").string()}});
  ASSERT_FALSE(result.timed_out) << result.summary();
  EXPECT_EQ(result.ranks[1].signal, SIGKILL) << result.summary();
  EXPECT_NE(result.ranks[0].exit_code, 0) << result.summary();
  EXPECT_LT(result.ranks[0].seconds, 60) << result.summary();
  // gtest reports the exception of the test body on stdout.
  const auto said = result.ranks[0].out + result.ranks[0].err;
  EXPECT_THAT(said, HasSubstr("rank 0/2")) << result.summary();
  EXPECT_THAT(said, HasSubstr("lost rank(s) 1 (at 127.0.0.1)")) << result.summary();
}

}  // namespace
}  // namespace visrl::test
