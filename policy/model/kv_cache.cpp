#include "policy/model/kv_cache.h"

namespace visrl::policy {

void KVCache::allocate_generated(int64_t batch_prompts, int64_t group, int64_t kv_heads, int64_t head_dim,
                                 int64_t cap, const at::TensorOptions& options) {
  group_size = group;
  capacity = cap;
  length = 0;
  for (auto& layer : layers) {
    layer.gen_k = at::empty({batch_prompts * group, kv_heads, cap, head_dim}, options);
    layer.gen_v = at::empty({batch_prompts * group, kv_heads, cap, head_dim}, options);
  }
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
