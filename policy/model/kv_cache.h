// The key/value cache of a rollout batch: B prompts, each shared by the G samples of its
// group. A prompt's keys and values are stored once ([B, KVH, P, D], left-padded to the
// longest prompt); each sample only stores the tokens it generated ([B*G, KVH, S, D]). The
// per-sample part grows with the answers: its capacity S starts at one growth step and
// `reserve` enlarges it a step at a time (reallocating and copying the filled positions), up
// to max_capacity, so a batch whose answers stop early never holds max_new_tokens positions.
// Rows of the sample tensors are ordered b * G + g; finished rows keep their place.
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
  int64_t length = 0;         // generated positions filled so far
  int64_t capacity = 0;       // S, the positions allocated
  int64_t max_capacity = 0;   // the most positions `reserve` may ask for
  int64_t growth_step = 0;    // capacity grows in multiples of this many positions
  int64_t reallocations = 0;  // growths after the first allocation

  // Allocates the per-sample part once the prompt part is known (after prefill), with
  // min(growth_step, max_capacity) positions. A growth_step >= max_capacity allocates
  // everything at once.
  void allocate_generated(int64_t batch_prompts, int64_t group, int64_t kv_heads, int64_t head_dim,
                          int64_t max_capacity, int64_t growth_step, const at::TensorOptions& options);
  // Makes room for `positions` generated positions (call once per decode step, before the
  // forward that writes position `length`, with length + 1). When they exceed the capacity,
  // every layer's gen_k/gen_v is reallocated to the next multiple of growth_step (at most
  // max_capacity) and the `length` filled positions are copied over. Throws visrl::Error
  // beyond max_capacity.
  void reserve(int64_t positions);
  int64_t bytes() const;  // every tensor the cache holds
};

}  // namespace visrl::policy
