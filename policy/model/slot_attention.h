// Decode-step attention over the continuous-batching cache (slot_kv_cache.h): each row (a
// decode slot) attends to its prompt, stored once per group, and to its own tokens.
#pragma once

#include <ATen/ATen.h>

#include "policy/model/slot_kv_cache.h"

namespace visrl::policy {

// q [Na, H, 1, D]; k, v [Na, KVH, 1, D] (this step's token of each row, after RoPE). Writes k
// and v at each row's own position (cache.step.own_len) in `kv`, then attends; returns
// [Na, 1, H*D].
//
// Batched (the default): the rows' queries are folded per prompt entry into [C, KVH, G*rep, D]
// (zeros where a sample is not running), so every prompt key is read once per group, as in
// the static engine, and the own tokens are one batched matmul masked by own_bias.
// Under BatchInvariantMode: one row at a time on one thread, over exactly its prompt's and its
// own positions, so its numbers depend on nothing but the row itself.
at::Tensor slot_decode_attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, SlotLayerKV& kv,
                                 const SlotKVCache& cache, double scale);

}  // namespace visrl::policy
