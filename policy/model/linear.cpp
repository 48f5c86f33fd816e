#include "policy/model/linear.h"

namespace visrl::policy {

LinearImpl::LinearImpl(int64_t in_features, int64_t out_features, bool with_bias) {
  weight = register_parameter("weight", at::empty({out_features, in_features}));
  if (with_bias) bias = register_parameter("bias", at::empty({out_features}));
}

at::Tensor LinearImpl::forward(const at::Tensor& x) {
  return at::linear(x, weight, bias);
}

EmbeddingImpl::EmbeddingImpl(int64_t num_embeddings, int64_t embedding_dim) {
  weight = register_parameter("weight", at::empty({num_embeddings, embedding_dim}));
}

at::Tensor EmbeddingImpl::forward(const at::Tensor& ids) {
  return at::embedding(weight, ids);
}

}  // namespace visrl::policy
