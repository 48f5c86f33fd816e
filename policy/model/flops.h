#pragma once
// Matmul FLOPs of a Qwen3-VL forward and backward, counted from the configuration (a
// multiply-add = 2 FLOPs; norms, activations, rotary embeddings and additions not counted, as
// in the usual MFU accounting). Checked against torch.utils.flop_counter on transformers'
// model (tests/fixtures/qwen3vl/flops.py). Used to turn a step time into achieved GFLOP/s.
#include <cstdint>
#include <vector>

#include "policy/model/qwen3vl_config.h"

namespace visrl::policy {

// Attention score pairs: `causal` counts the T (T + 1) / 2 query-key pairs a causal kernel needs
// (visrl's SDPA skips the masked half); `full` counts T^2, as an eager attention computes it.
enum class AttentionPairs { causal, full };

struct ForwardWork {
  std::vector<int64_t> image_patches;  // patches of each image the vision tower encodes (t * h * w; one frame each)
  std::vector<int64_t> row_tokens;     // tokens of each text row (prompt + response, padding included)
  int64_t scored_positions = 0;        // LM-head positions over all rows (the response tokens scored)
  AttentionPairs text_pairs = AttentionPairs::causal;
};

struct ForwardFlops {
  double patch_embed = 0;  // the patch projection (a Conv3d with stride = kernel)
  double vision = 0;       // vision blocks (linear layers + bidirectional attention within each image)
  double mergers = 0;      // the merger and the DeepStack mergers
  double text = 0;         // decoder linear layers
  double attention = 0;    // decoder attention scores and weighted values
  double lm_head = 0;
  double total() const { return patch_embed + vision + mergers + text + attention + lm_head; }
};

ForwardFlops forward_flops(const Qwen3VLConfig& config, const ForwardWork& work);

// Backward of a forward with every parameter trainable: twice the forward (the gradients of each
// matmul's two operands), except the patch projection, whose input (the pixels) needs no gradient.
double backward_flops(const ForwardFlops& forward);

}  // namespace visrl::policy
