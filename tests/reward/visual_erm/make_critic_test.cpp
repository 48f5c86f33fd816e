// make_critic: the config picks and sets up the backend.
#include "reward/make_critic.h"

#include "tests/test_util.h"

namespace visrl::reward {
namespace {

TEST(MakeCritic, BuildsTheConfiguredBackend) {
  Config config;
  config.reward.critic = "pixel";
  EXPECT_EQ(make_critic(config)->name(), "pixel");

  config.reward.critic = "visual_erm";
  config.reward.visual_erm.model_path = (test::source_dir() / "tests/fixtures/qwen3vl/tied").string();
  config.reward.visual_erm.device = "cpu";
  EXPECT_EQ(make_critic(config)->name(), "visual_erm");

  config.reward.critic = "openai";
  config.reward.openai.endpoints = {"http://127.0.0.1:9/v1"};
  EXPECT_EQ(make_critic(config)->name(), "openai");
}

TEST(MakeCritic, SetupProblemsAreNamed) {
  Config config;
  config.reward.critic = "openai";
  std::string error = test::expected_error([&] { make_critic(config); });
  EXPECT_NE(error.find("endpoint"), std::string::npos) << error;

  config.reward.openai.endpoints = {"http://127.0.0.1:9/v1"};
  config.reward.openai.api_key_env = "VISRL_TEST_SURELY_UNSET_KEY";
  error = test::expected_error([&] { make_critic(config); });
  EXPECT_NE(error.find("VISRL_TEST_SURELY_UNSET_KEY"), std::string::npos) << error;

  config.reward.openai.api_key_env = "";
  config.reward.prompt_dir = (test::source_dir() / "no-such-prompts").string();
  error = test::expected_error([&] { make_critic(config); });
  EXPECT_NE(error.find("no-such-prompts"), std::string::npos) << error;

  config.reward.critic = "visual_erm";
  config.reward.prompt_dir = "";
  config.reward.visual_erm.model_path = "";
  error = test::expected_error([&] { make_critic(config); });
  EXPECT_NE(error.find("reward.visual_erm.model_path"), std::string::npos) << error;

  config.reward.critic = "dino";
  error = test::expected_error([&] { make_critic(config); });
  EXPECT_NE(error.find("dino"), std::string::npos) << error;
}

}  // namespace
}  // namespace visrl::reward
