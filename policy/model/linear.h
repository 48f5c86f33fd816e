// Linear and Embedding modules whose parameters are created uninitialised (at::empty in the
// default dtype): a checkpoint load fills every parameter exactly once, without the default
// (kaiming / normal) initialisation of torch::nn's modules, which costs seconds at 2B
// parameters and draws from the global RNG. Parameter names are torch::nn's ("weight",
// "bias"), so module paths give the Hugging Face checkpoint names unchanged. Whoever builds
// one without loading must fill it (tiny_model.h's init_random does).
#pragma once

#include <cstdint>
#include <memory>

#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

#include "policy/model/lora_adapter.h"

namespace visrl::policy {

// at::linear(x, weight, bias) [.., in] -> [.., out] in the form the moment asks for: the
// batch-invariant one under BatchInvariantMode (batch_invariant.h), oneDNN's for the few rows
// of a float32 decode step (decode_linear.h), at::linear otherwise.
at::Tensor linear_forward(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias);

class LinearImpl : public torch::nn::Module {
 public:
  LinearImpl(int64_t in_features, int64_t out_features, bool bias = true);
  // at::linear(x, weight, bias), plus the LoRA path when an adapter is attached and adds it.
  at::Tensor forward(const at::Tensor& x);

  at::Tensor weight;  // [out, in]
  at::Tensor bias;    // [out]; undefined (and not registered) without a bias
  // Attached by add_lora (lora.h). Its tensors are not registered parameters, so
  // named_parameters() stays the Hugging Face checkpoint's names (the base alone).
  std::shared_ptr<LoraAdapter> lora;
};
TORCH_MODULE(Linear);

class EmbeddingImpl : public torch::nn::Module {
 public:
  EmbeddingImpl(int64_t num_embeddings, int64_t embedding_dim);
  at::Tensor forward(const at::Tensor& ids);  // at::embedding(weight, ids): [..] -> [.., dim]

  at::Tensor weight;  // [num, dim]
};
TORCH_MODULE(Embedding);

}  // namespace visrl::policy
