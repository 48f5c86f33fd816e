#include "trainer/loop/config_options.h"

#include <cstdlib>
#include <filesystem>

#include "core/algorithm_choice.h"
#include "policy/model/lora.h"

namespace visrl::trainer {

PolicyLossParams policy_loss_params(const AlgorithmConfig& a) {
  PolicyLossParams p;
  p.clip_low = a.clip_ratio_low;
  p.clip_high = a.clip_ratio_high;
  p.dual_clip_c = a.dual_clip_c;
  p.sapo_tau_pos = a.sapo_tau_pos;
  p.sapo_tau_neg = a.sapo_tau_neg;
  return p;
}

UpdateOptions update_options(const Config& c, int64_t pad_token_id) {
  const auto& a = c.algorithm;
  UpdateOptions o;
  o.micro_batch_size = a.micro_batch_size;
  o.max_tokens_per_micro_batch = a.max_tokens_per_micro_batch;
  o.ppo_epochs = a.ppo_epochs;
  auto& l = o.loss;
  l.policy_loss = parse_choice<PolicyLossKind>("algorithm.policy_loss", a.policy_loss);
  l.params = policy_loss_params(a);
  l.policy_agg = policy_loss_agg(l.policy_loss, a.loss_agg_mode);
  l.regularizer_agg = regularizer_loss_agg(a.loss_agg_mode);
  l.kl_coef = a.kl_in_reward ? 0.0 : a.kl_coef;
  l.kl_estimator = parse_choice<KlEstimator>("algorithm.kl_estimator", a.kl_estimator);
  l.entropy_coef = a.entropy_coef;
  l.rollout_is = parse_choice<RolloutIs>("algorithm.rollout_is", a.rollout_is);
  l.rollout_is_threshold = a.rollout_is_threshold;
  o.norm_constant = static_cast<double>(c.rollout.max_new_tokens);
  o.temperature = c.rollout.temperature;
  o.logprob_chunk_tokens = c.model.logprob_chunk_tokens;
  o.grad_clip = c.optim.grad_clip;
  o.pad_token_id = pad_token_id;
  return o;
}

policy::LoraSpec lora_spec(const Config& c) {
  const auto& l = c.model.lora;
  policy::LoraSpec s;
  s.rank = l.rank;
  s.alpha = l.alpha;
  s.dropout = l.dropout;
  s.target_modules = l.target_modules;
  if (!l.vision) s.exclude_regex = policy::kVisionModulesRegex;
  s.init = l.init;
  return s;
}

AdamWOptions adamw_options(const Config& c) {
  AdamWOptions adamw;
  adamw.beta1 = c.optim.beta1;
  adamw.beta2 = c.optim.beta2;
  adamw.eps = c.optim.eps;
  adamw.weight_decay = c.optim.weight_decay;
  adamw.bucket_mb = static_cast<double>(c.distributed.bucket_mb);
  return adamw;
}

std::unique_ptr<GradientBuckets> make_gradient_buckets(const Config& c, std::vector<at::Tensor> params) {
  const auto dtype = parse_choice<GradDtype>("optim.grad_dtype", c.optim.grad_dtype);
  return std::make_unique<GradientBuckets>(std::move(params), static_cast<double>(c.distributed.bucket_mb),
                                           dtype == GradDtype::fp32 ? std::optional(at::kFloat) : std::nullopt);
}

WandbOptions wandb_options(const Config& config) {
  const auto& w = config.logging.wandb;
  std::string python = w.python;
  if (python.empty()) {
    const char* cache = std::getenv("VISRL_CACHE");
    const char* home = std::getenv("HOME");
    const std::filesystem::path venv_python =
        std::filesystem::path(cache && *cache ? cache : std::string(home ? home : "") + "/.cache/visrl") / "venv" /
        "bin" / "python";
    std::error_code ec;
    python = std::filesystem::exists(venv_python, ec) ? venv_python.string() : "python3";
  }
  return WandbOptions{
      .project = w.project,
      .entity = w.entity,
      .name = w.name,
      .group = w.group,
      .tags = w.tags,
      .mode = w.mode,
      .python = python,
      .queue_bytes = static_cast<size_t>(w.queue_mib) << 20,
      .max_restarts = w.max_restarts,
  };
}

}  // namespace visrl::trainer
