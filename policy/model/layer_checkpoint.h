// Gradient checkpointing of one decoder layer: the forward keeps only the layer's input, and
// the backward runs the layer again (with grad) to get its activations, as
// torch.utils.checkpoint's reentrant variant does. Trades one more layer forward per
// backward for not storing the layer's activations (attention scores, MLP intermediates).
#pragma once

#include <ATen/ATen.h>

#include "policy/model/text_decoder.h"

namespace visrl::policy {

// layer(x, rope, {full, mask}) with its activations recomputed in the backward.
// x [B, T, H]; rope cos/sin [B, T, D]; mask [B, 1, T, T] bool or undefined.
at::Tensor checkpointed_layer(DecoderLayerImpl& layer, const at::Tensor& x, const CosSin& rope, const at::Tensor& mask,
                              int64_t layer_index);

}  // namespace visrl::policy
