#include "reward/make_critic.h"

#include "core/error.h"
#include "reward/openai/openai_critic.h"
#include "reward/pixel/pixel_critic.h"
#include "reward/visual_erm/visual_erm_critic.h"

namespace visrl::reward {

std::unique_ptr<Critic> make_critic(const Config& config) {
  const RewardConfig& r = config.reward;
  if (r.critic == "pixel") return std::make_unique<PixelCritic>();
  if (r.critic == "visual_erm") {
    VisualErmOptions o;
    o.model_path = r.visual_erm.model_path;
    o.device = r.visual_erm.device;
    o.dtype = r.visual_erm.dtype;
    o.batch_size = r.visual_erm.batch_size;
    o.max_image_side = r.max_image_side;
    o.max_new_tokens = r.max_new_tokens;
    o.parse_retries = r.parse_retries;
    o.prompts = CriticPrompts::load(r.prompt_dir);
    o.seed = config.seed;
    return std::make_unique<VisualErmCritic>(o);
  }
  if (r.critic == "openai") {
    OpenAiCriticOptions o;
    o.endpoints = r.openai.endpoints;
    o.model = r.openai.model;
    o.api_key_env = r.openai.api_key_env;
    o.timeout_s = r.openai.timeout_s;
    o.max_retries = r.openai.max_retries;
    o.max_concurrency = r.openai.max_concurrency;
    o.backoff_s = r.openai.backoff_s;
    o.max_backoff_s = r.openai.max_backoff_s;
    auto policy = parse_when_all_down(r.openai.when_all_down);
    if (!policy)
      fail(ErrorKind::config, "reward.openai.when_all_down: expected wait, skip_step or fail_items, got \"{}\"",
           r.openai.when_all_down);
    o.when_all_down = *policy;
    o.wait_max_s = r.openai.wait_max_s;
    o.parse_retries = r.parse_retries;
    o.prompt_dir = r.prompt_dir;
    o.max_image_side = r.max_image_side;
    o.max_new_tokens = r.max_new_tokens;
    o.seed = config.seed;
    return std::make_unique<OpenAiCritic>(o);
  }
  fail(ErrorKind::config, "reward.critic: expected pixel, visual_erm or openai, got \"{}\"", r.critic);
}

}  // namespace visrl::reward
