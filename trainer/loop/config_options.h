// The one place where the trainer's per-module option structs are built from Config (their
// defaults live only in core/config.h): the update's, AdamW's and the gradient buckets'.
#pragma once

#include <memory>
#include <vector>

#include <ATen/ATen.h>

#include "core/config.h"
#include "policy/model/lora_adapter.h"
#include "trainer/distributed/grad_sync.h"
#include "trainer/distributed/sharded_adamw.h"
#include "trainer/loop/ppo_update.h"
#include "trainer/report/wandb_logger.h"

namespace visrl::trainer {

// algorithm.clip_ratio_*, dual_clip_c, sapo_tau_*.
PolicyLossParams policy_loss_params(const AlgorithmConfig& algorithm);

// algorithm.*, rollout.temperature and max_new_tokens (seq-mean-token-sum-norm's constant),
// optim.grad_clip. Error(config) naming the key for an unknown choice or an aggregation the
// policy loss does not allow. The KL loss term is off with algorithm.kl_in_reward (the KL is
// then in the reward).
UpdateOptions update_options(const Config& config, int64_t pad_token_id);

// model.lora.*: PEFT's LoraConfig; `vision: false` is an exclude_modules regex over the vision
// tower and its mergers.
policy::LoraSpec lora_spec(const Config& config);

// optim.beta1/beta2/eps/weight_decay, distributed.bucket_mb.
AdamWOptions adamw_options(const Config& config);

// distributed.bucket_mb; optim.grad_dtype (fp32: float32 accumulators for narrower parameters).
std::unique_ptr<GradientBuckets> make_gradient_buckets(const Config& config, std::vector<at::Tensor> params);

// logging.wandb.*; an empty python is scripts/setup's tools venv
// (${VISRL_CACHE:-~/.cache/visrl}/venv/bin/python) when it exists, else python3 on PATH.
WandbOptions wandb_options(const Config& config);

}  // namespace visrl::trainer
