// The launcher environment (torchrun, Slurm) and the learning-rate schedule.
#include <cmath>
#include <map>

#include <gtest/gtest.h>

#include "tests/test_util.h"
#include "trainer/distributed/launch_env.h"
#include "trainer/optim/lr_schedule.h"

namespace visrl::trainer {
namespace {

LaunchEnv env_of(const std::map<std::string, std::string>& vars) {
  return launch_env([&](const char* name) -> const char* {
    auto it = vars.find(name);
    return it == vars.end() ? nullptr : it->second.c_str();
  });
}

TEST(LaunchEnv, TorchrunSlurmAndSingleProcess) {
  LaunchEnv t = env_of(
      {{"RANK", "3"}, {"WORLD_SIZE", "8"}, {"LOCAL_RANK", "1"}, {"MASTER_ADDR", "node0"}, {"MASTER_PORT", "29500"}});
  EXPECT_EQ(t.launcher, "torchrun");
  EXPECT_EQ(t.rank, 3);
  EXPECT_EQ(t.world_size, 8);
  EXPECT_EQ(t.local_rank, 1);
  EXPECT_EQ(t.master_addr, "node0");
  EXPECT_EQ(t.master_port, 29500);
  EXPECT_FALSE(t.store_served_by_launcher);
  EXPECT_EQ(t.restart_count, 0);

  // What the real torchrun (2.15) exports to a restarted worker group.
  LaunchEnv elastic = env_of({{"RANK", "1"},
                              {"WORLD_SIZE", "2"},
                              {"MASTER_ADDR", "10.0.0.1"},
                              {"MASTER_PORT", "41233"},
                              {"TORCHELASTIC_USE_AGENT_STORE", "True"},
                              {"TORCHELASTIC_RESTART_COUNT", "2"}});
  EXPECT_TRUE(elastic.store_served_by_launcher);
  EXPECT_EQ(elastic.restart_count, 2);
  EXPECT_FALSE(
      env_of({{"RANK", "0"}, {"WORLD_SIZE", "1"}, {"TORCHELASTIC_USE_AGENT_STORE", "False"}}).store_served_by_launcher);

  LaunchEnv s = env_of({{"SLURM_PROCID", "9"},
                        {"SLURM_NTASKS", "16"},
                        {"SLURM_LOCALID", "1"},
                        {"MASTER_ADDR", "n1"},
                        {"MASTER_PORT", "1234"}});
  EXPECT_EQ(s.launcher, "slurm");
  EXPECT_EQ(s.rank, 9);
  EXPECT_EQ(s.world_size, 16);
  EXPECT_EQ(s.local_rank, 1);

  LaunchEnv single = env_of({});
  EXPECT_EQ(single.launcher, "single");
  EXPECT_EQ(single.world_size, 1);
  EXPECT_EQ(env_of({{"RANK", "0"}, {"WORLD_SIZE", "1"}}).master_port, 0);  // one process needs no rendezvous
}

TEST(LaunchEnv, BadEnvironmentsNameTheVariable) {
  auto error = [](std::map<std::string, std::string> vars) { return test::expected_error([&] { env_of(vars); }); };
  EXPECT_NE(error({{"RANK", "0"}}).find("WORLD_SIZE is not set"), std::string::npos);
  EXPECT_NE(error({{"RANK", "4"}, {"WORLD_SIZE", "4"}}).find("RANK=\"4\""), std::string::npos);
  EXPECT_NE(error({{"RANK", "x"}, {"WORLD_SIZE", "2"}}).find("RANK=\"x\""), std::string::npos);
  EXPECT_NE(error({{"RANK", "0"}, {"WORLD_SIZE", "2"}}).find("MASTER_ADDR"), std::string::npos);
  EXPECT_NE(error({{"RANK", "0"}, {"WORLD_SIZE", "2"}, {"MASTER_ADDR", "h"}, {"MASTER_PORT", "70000"}})
                .find("MASTER_PORT=\"70000\""),
            std::string::npos);
  EXPECT_NE(error({{"SLURM_PROCID", "0"}, {"SLURM_NTASKS", "2"}}).find("slurm launch of 2"), std::string::npos);
  EXPECT_NE(error({{"RANK", "0"}, {"WORLD_SIZE", "1"}, {"TORCHELASTIC_RESTART_COUNT", "-1"}})
                .find("TORCHELASTIC_RESTART_COUNT=\"-1\""),
            std::string::npos);
}

TEST(LrSchedule, WarmupThenConstantCosineOrLinear) {
  LrSchedule s{1.0, "cosine", 2, 6, 0.1};
  validate(s);
  EXPECT_DOUBLE_EQ(lr_at(s, 0), 0.0);
  EXPECT_DOUBLE_EQ(lr_at(s, 1), 0.5);
  EXPECT_DOUBLE_EQ(lr_at(s, 2), 1.0);
  EXPECT_NEAR(lr_at(s, 4), 0.1 + 0.9 * 0.5, 1e-15);
  EXPECT_NEAR(lr_at(s, 3), 0.1 + 0.9 * 0.5 * (1 + std::cos(M_PI / 4)), 1e-15);
  EXPECT_NEAR(lr_at(s, 6), 0.1, 1e-15);
  EXPECT_NEAR(lr_at(s, 60), 0.1, 1e-15);
  s.kind = "linear";
  EXPECT_NEAR(lr_at(s, 3), 0.1 + 0.9 * 0.75, 1e-15);
  EXPECT_NEAR(lr_at(s, 6), 0.1, 1e-15);
  s.kind = "constant";
  EXPECT_DOUBLE_EQ(lr_at(s, 1), 0.5);
  EXPECT_DOUBLE_EQ(lr_at(s, 500), 1.0);
  EXPECT_DOUBLE_EQ(lr_at(LrSchedule{2e-6, "constant", 0, 0, 0.0}, 0), 2e-6);
}

TEST(LrSchedule, BadSchedulesAreConfigErrors) {
  EXPECT_NE(test::expected_error([] {
              validate(LrSchedule{1.0, "step", 0, 10, 0.0});
            }).find("optim.schedule"),
            std::string::npos);
  EXPECT_NE(test::expected_error([] {
              validate(LrSchedule{1.0, "cosine", 10, 10, 0.0});
            }).find("optim.total_steps"),
            std::string::npos);
  validate(LrSchedule{1.0, "constant", 10, 0, 0.0});  // constant needs no total
}

}  // namespace
}  // namespace visrl::trainer
