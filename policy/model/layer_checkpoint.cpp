#include "policy/model/layer_checkpoint.h"

#include <torch/autograd.h>

namespace visrl::policy {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

at::Tensor run_layer(DecoderLayerImpl& layer, const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin,
                     const at::Tensor& mask, int64_t index) {
  AttentionContext ctx;
  if (mask.numel() > 0) ctx.mask = mask;  // an empty tensor stands for "no mask"
  return layer.forward(x, CosSin{cos, sin}, ctx, index);
}

struct CheckpointedLayer : public torch::autograd::Function<CheckpointedLayer> {
  // The layer travels as an address: saved_data holds IValues, and the module outlives
  // the backward of any graph built from it.
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin,
                            const at::Tensor& mask, int64_t layer_address, int64_t index) {
    ctx->save_for_backward({x, cos, sin, mask});
    ctx->saved_data["layer"] = layer_address;
    ctx->saved_data["index"] = index;
    at::NoGradGuard no_grad;
    return run_layer(*reinterpret_cast<DecoderLayerImpl*>(layer_address), x, cos, sin, mask, index);
  }

  static variable_list backward(AutogradContext* ctx, variable_list grad_out) {
    auto saved = ctx->get_saved_variables();
    auto* layer = reinterpret_cast<DecoderLayerImpl*>(ctx->saved_data["layer"].toInt());
    const int64_t index = ctx->saved_data["index"].toInt();
    auto x = saved[0].detach().requires_grad_(true);
    at::Tensor y;
    {
      at::AutoGradMode grad(true);
      y = run_layer(*layer, x, saved[1], saved[2], saved[3], index);
    }
    // Re-entrant backward through the recomputed layer: accumulates the layer's parameter
    // gradients and gives the input's.
    torch::autograd::backward({y}, {grad_out[0]});
    return {x.grad(), at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor()};
  }
};

}  // namespace

at::Tensor checkpointed_layer(DecoderLayerImpl& layer, const at::Tensor& x, const CosSin& rope, const at::Tensor& mask,
                              int64_t layer_index) {
  // autograd::Function inputs must be defined tensors: no mask travels as an empty one.
  const auto mask_or_empty = mask.defined() ? mask : at::empty({0}, x.options().dtype(at::kBool));
  return CheckpointedLayer::apply(x, rope.cos, rope.sin, mask_or_empty, reinterpret_cast<int64_t>(&layer), layer_index);
}

}  // namespace visrl::policy
