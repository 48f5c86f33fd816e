// The key/value cache of a rollout batch: B prompts, each shared by the G samples of its
// group. A prompt's keys and values are stored once ([B, KVH, P, D], left-padded to the
// longest prompt); each sample only stores the tokens it generated ([B*G, KVH, S, D],
// preallocated for max_new_tokens). Rows of the sample tensors are ordered b * G + g.
#pragma once

#include <vector>

#include <ATen/ATen.h>

namespace visrl::policy {

struct LayerKV {
  at::Tensor prompt_k, prompt_v;  // [B, KVH, P, D], after RoPE
  at::Tensor gen_k, gen_v;        // [B*G, KVH, S, D], the first `length` positions filled
};

struct KVCache {
  std::vector<LayerKV> layers;
  at::Tensor prompt_bias;  // [B, 1, 1, P] float: 0 for prompt tokens, -inf for left padding
  int64_t group_size = 1;
  int64_t length = 0;      // generated positions filled so far
  int64_t capacity = 0;    // S

  // Allocates the per-sample part once the prompt part is known (after prefill).
  void allocate_generated(int64_t batch_prompts, int64_t group, int64_t kv_heads, int64_t head_dim, int64_t capacity,
                          const at::TensorOptions& options);
  int64_t bytes() const;  // every tensor the cache holds
};

}  // namespace visrl::policy
