// Teacher-forced per-token log-probabilities and entropies for training (the policy and the
// reference model of GRPO): one differentiable forward over a padded batch.
#pragma once

#include <ATen/ATen.h>

#include "policy/model/qwen3vl.h"

namespace visrl::policy {

struct LogprobBatch {
  at::Tensor input_ids;       // [B, T] int64, prompt + response, padded (right or left)
  at::Tensor attention_mask;  // [B, T] 1 = token, 0 = padding; undefined = no padding
  at::Tensor pixel_values;    // [patches, C*T*P*P] for all images of the batch, or undefined
  at::Tensor image_grid_thw;  // [images, 3], images in row-major order of appearance
  // [B, T-1] bool: the positions to score (usually the response tokens); position t scores
  // token t+1. Undefined = every position whose target is a token. Others come back as 0.
  at::Tensor score_mask;
};

struct TokenLogprobs {
  at::Tensor logprobs;   // [B, T-1] float32 (float64 for a float64 model): log p(token t+1 | tokens <= t)
  at::Tensor entropies;  // [B, T-1] same dtype: entropy of that next-token distribution
};

// Differentiable (unless called under NoGradGuard/InferenceMode). The lm_head and softmax
// run only on the scored positions, so a long prompt costs no vocabulary-sized logits.
// Logits are divided by `temperature` first, as the sampler did (verl's convention).
TokenLogprobs forward_logprobs(Qwen3VLImpl& model, const LogprobBatch& batch, double temperature = 1.0);

}  // namespace visrl::policy
