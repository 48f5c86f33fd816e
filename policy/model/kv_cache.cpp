#include "policy/model/kv_cache.h"

#include <algorithm>

#include "core/error.h"

namespace visrl::policy {

void KVCache::allocate_generated(int64_t batch_prompts, int64_t group, int64_t kv_heads, int64_t head_dim,
                                 int64_t max_cap, int64_t growth, const at::TensorOptions& options) {
  if (max_cap < 1 || growth < 1) {
    fail(ErrorKind::config, "KVCache: max_capacity and growth_step must be >= 1, got {} and {}", max_cap, growth);
  }
  group_size = group;
  max_capacity = max_cap;
  growth_step = growth;
  capacity = std::min(growth, max_cap);
  length = 0;
  reallocations = 0;
  for (auto& layer : layers) {
    layer.gen_k = at::empty({batch_prompts * group, kv_heads, capacity, head_dim}, options);
    layer.gen_v = at::empty({batch_prompts * group, kv_heads, capacity, head_dim}, options);
  }
}

void KVCache::reserve(int64_t positions) {
  if (positions <= capacity) return;
  if (positions > max_capacity) {
    fail(ErrorKind::runtime, "KVCache: {} generated positions exceed the cache's maximum of {}", positions,
         max_capacity);
  }
  const int64_t grown = std::min(max_capacity, (positions + growth_step - 1) / growth_step * growth_step);
  // One layer at a time, so that the old and the new tensors coexist for a single layer only.
  for (auto& layer : layers) {
    for (auto* t : {&layer.gen_k, &layer.gen_v}) {
      auto sizes = t->sizes().vec();
      sizes[2] = grown;
      auto bigger = at::empty(sizes, t->options());
      if (length > 0) bigger.narrow(2, 0, length).copy_(t->narrow(2, 0, length));
      *t = std::move(bigger);
    }
  }
  capacity = grown;
  ++reallocations;
}

int64_t KVCache::bytes() const {
  int64_t total = 0;
  for (const auto& layer : layers) {
    for (const auto* t : {&layer.prompt_k, &layer.prompt_v, &layer.gen_k, &layer.gen_v}) {
      if (t->defined()) total += t->numel() * t->element_size();
    }
  }
  return total;
}

}  // namespace visrl::policy
