#include "policy/model/linear.h"

#include "policy/model/batch_invariant.h"
#include "policy/model/decode_linear.h"

namespace visrl::policy {

LinearImpl::LinearImpl(int64_t in_features, int64_t out_features, bool with_bias) {
  weight = register_parameter("weight", at::empty({out_features, in_features}));
  if (with_bias) bias = register_parameter("bias", at::empty({out_features}));
}

at::Tensor linear_forward(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias) {
  if (batch_invariant()) return invariant_linear(x, weight, bias);
  if (auto fast = decode_linear(x, weight, bias)) return *fast;
  return at::linear(x, weight, bias);
}

at::Tensor LinearImpl::forward(const at::Tensor& x) {
  auto y = linear_forward(x, weight, bias);  // [.., out]
  if (!lora || !lora->adds_path()) return y;
  // PEFT's order: the input is cast to the adapter's dtype (float32), and the sum, promoted to
  // float32, is cast back to the base's dtype.
  auto h = x.to(lora->A.scalar_type());
  if (lora->dropout > 0 && is_training()) h = at::dropout(h, lora->dropout, /*train=*/true);
  const bool invariant = batch_invariant();
  const auto linear = [&](const at::Tensor& in, const at::Tensor& w) {
    return invariant ? invariant_linear(in, w, {}) : at::linear(in, w);
  };
  auto delta = linear(linear(h, lora->A), lora->B) * lora->scaling;  // [.., r] -> [.., out]
  return (y + delta).to(y.scalar_type());
}

EmbeddingImpl::EmbeddingImpl(int64_t num_embeddings, int64_t embedding_dim) {
  weight = register_parameter("weight", at::empty({num_embeddings, embedding_dim}));
}

at::Tensor EmbeddingImpl::forward(const at::Tensor& ids) {
  return at::embedding(weight, ids);
}

}  // namespace visrl::policy
