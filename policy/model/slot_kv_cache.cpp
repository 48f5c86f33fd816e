#include "policy/model/slot_kv_cache.h"

#include <algorithm>
#include <limits>

#include "core/error.h"

namespace visrl::policy {
namespace {
// A copy of `t` with dimension `dim` widened to `size`, zeros after the old extent: positions
// not yet written must hold finite values, since a masked score (probability 0) times a NaN
// value would still be NaN.
at::Tensor widened(const at::Tensor& t, int64_t dim, int64_t size) {
  auto sizes = t.sizes().vec();
  sizes[dim] = size;
  auto bigger = at::zeros(sizes, t.options());
  bigger.narrow(dim, 0, t.size(dim)).copy_(t);
  return bigger;
}
}  // namespace

SlotKVCache::SlotKVCache(int64_t n_layers, int64_t kv_heads, int64_t head_dim, int64_t prompt_entries,
                         int64_t prompt_length, int64_t slots, int64_t max_own, int64_t growth_step,
                         const at::TensorOptions& options)
    : max_own_(max_own), growth_(growth_step), options_(options), prompt_cap_(prompt_length) {
  if (prompt_entries < 1 || prompt_length < 1 || slots < 1 || max_own < 1 || growth_step < 1) {
    fail(ErrorKind::config,
         "SlotKVCache: prompt entries, prompt length, slots, max_own and growth_step must be >= 1, got {}, {}, {}, {} "
         "and {}",
         prompt_entries, prompt_length, slots, max_own, growth_step);
  }
  layers.resize(n_layers);
  own_cap_ = std::min(growth_step, max_own);
  for (auto& layer : layers) {
    layer.prompt_k = at::zeros({prompt_entries, kv_heads, prompt_length, head_dim}, options);
    layer.prompt_v = at::zeros({prompt_entries, kv_heads, prompt_length, head_dim}, options);
    layer.own_k = at::zeros({slots, kv_heads, own_cap_, head_dim}, options);
    layer.own_v = at::zeros({slots, kv_heads, own_cap_, head_dim}, options);
  }
  prompt_bias = at::full({prompt_entries, 1, 1, prompt_length}, -std::numeric_limits<double>::infinity(), options);
}

void SlotKVCache::store_prompt(int64_t entry, const std::vector<at::Tensor>& k, const std::vector<at::Tensor>& v) {
  const int64_t P = k.at(0).size(2);
  if (entry >= prompt_bias.size(0) || P > prompt_cap_) {
    fail(ErrorKind::runtime, "SlotKVCache: prompt entry {} of {} tokens does not fit the store ({} entries of {})",
         entry, P, prompt_bias.size(0), prompt_cap_);
  }
  for (size_t l = 0; l < layers.size(); ++l) {
    auto& layer = layers[l];
    layer.prompt_k[entry].zero_().narrow(1, 0, P).copy_(k[l][0]);
    layer.prompt_v[entry].zero_().narrow(1, 0, P).copy_(v[l][0]);
  }
  prompt_bias[entry].fill_(-std::numeric_limits<double>::infinity()).narrow(2, 0, P).fill_(0);
}

void SlotKVCache::move_prompt(int64_t from, int64_t to) {
  if (from == to) return;
  for (auto& layer : layers) {
    layer.prompt_k[to].copy_(layer.prompt_k[from]);
    layer.prompt_v[to].copy_(layer.prompt_v[from]);
  }
  prompt_bias[to].copy_(prompt_bias[from]);
}

void SlotKVCache::move_slot(int64_t from, int64_t to, int64_t length) {
  if (from == to || length == 0) return;
  for (auto& layer : layers) {
    layer.own_k[to].narrow(1, 0, length).copy_(layer.own_k[from].narrow(1, 0, length));
    layer.own_v[to].narrow(1, 0, length).copy_(layer.own_v[from].narrow(1, 0, length));
  }
}

void SlotKVCache::reserve_own(int64_t positions) {
  if (positions <= own_cap_) return;
  if (positions > max_own_) {
    fail(ErrorKind::runtime, "SlotKVCache: {} own positions exceed the maximum of {}", positions, max_own_);
  }
  const int64_t grown = std::min(max_own_, (positions + growth_ - 1) / growth_ * growth_);
  for (auto& layer : layers) {  // one layer at a time: old and new coexist for one layer only
    layer.own_k = widened(layer.own_k, 2, grown);
    layer.own_v = widened(layer.own_v, 2, grown);
  }
  own_cap_ = grown;
  ++reallocations;
}

void SlotKVCache::prepare_step(const std::vector<int64_t>& prompt_of, const std::vector<int64_t>& sample_of,
                               const std::vector<int64_t>& prompt_len, const std::vector<int64_t>& own_len,
                               int64_t open_prompts, int64_t group) {
  const auto Na = static_cast<int64_t>(prompt_of.size());
  step.open_prompts = open_prompts;
  step.group = group;
  step.prompt_of = prompt_of;
  step.prompt_len = prompt_len;
  step.own_len = own_len;
  step.prompt_len_max = *std::max_element(prompt_len.begin(), prompt_len.end());
  step.own_len_max = *std::max_element(own_len.begin(), own_len.end()) + 1;
  reserve_own(step.own_len_max);
  std::vector<int64_t> fold(Na);
  for (int64_t r = 0; r < Na; ++r) fold[r] = prompt_of[r] * group + sample_of[r];
  const auto device = options_.device();
  step.fold_index = at::tensor(fold, at::kLong).to(device);
  step.write_position = at::tensor(own_len, at::kLong).to(device);
  // [Na, 1, 1, Lmax]: row r sees its own positions 0..own_len[r] (the one written this step included).
  auto positions = at::arange(step.own_len_max, at::kLong).view({1, step.own_len_max});
  auto hidden = positions > at::tensor(own_len, at::kLong).view({Na, 1});
  step.own_bias = at::zeros({Na, step.own_len_max}, options_.device(at::kCPU))
                      .masked_fill(hidden, -std::numeric_limits<double>::infinity())
                      .view({Na, 1, 1, step.own_len_max})
                      .to(device);
}

int64_t SlotKVCache::bytes() const {
  int64_t total = prompt_bias.numel() * prompt_bias.element_size();
  for (const auto& layer : layers) {
    for (const auto* t : {&layer.prompt_k, &layer.prompt_v, &layer.own_k, &layer.own_v}) {
      total += t->numel() * t->element_size();
    }
  }
  return total;
}

}  // namespace visrl::policy
