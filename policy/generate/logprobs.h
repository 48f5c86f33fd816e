// Teacher-forced per-token log-probabilities and entropies for training (the policy and the
// reference model of GRPO): one differentiable forward over a padded batch.
#pragma once

#include <cstdint>

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
// The N scored positions' hidden states h [N, H] go through lm_head_logprobs below:
// `chunk_tokens` = 0 makes all [N, V] logits at once (with log-softmax, exp and their autograd
// saves: several GB for a 4,096-token response at V = 151,936); > 0 (model.logprob_chunk_tokens)
// holds one [chunk, V] block at a time and keeps only h and the weight for backward.
TokenLogprobs forward_logprobs(Qwen3VLImpl& model, const LogprobBatch& batch, double temperature = 1.0,
                               int64_t chunk_tokens = 0);

// The log-prob head on hidden states: h [N, H], weight [V, H] (the lm_head's, or the tied
// embedding), targets [N] int64 -> logprobs and entropies [N] of softmax(h W^T / temperature),
// in float32 at least (float64 for float64 inputs; under autocast the matmul runs in autocast's
// dtype, as at::linear would). chunk_tokens = 0: plain autograd over [N, V] logits.
// chunk_tokens > 0: `chunk_tokens` rows at a time; with gradients enabled one custom autograd
// node saves only h and the weight, and its backward recomputes each chunk's logits and applies
// d log p(target)/dz = onehot - p and dH/dz = -p (log p + H) (z = logits / temperature), giving
// the weight's gradient as a float32 (float64) sum over chunks cast to the weight's dtype. Peak
// extra memory is then a few [chunk, V] blocks plus, in backward, one [V, H] accumulator.
// Inputs that do not require grad get none.
TokenLogprobs lm_head_logprobs(const at::Tensor& h, const at::Tensor& weight, const at::Tensor& targets,
                               double temperature, int64_t chunk_tokens);

}  // namespace visrl::policy
