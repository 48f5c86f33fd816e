// Parameter counts of a Qwen3-VL, from its configuration alone (no weights are read or
// allocated): what the memory planner multiplies by bytes per element. Equal to the numel of
// the modules' parameters (ParamCount.* in policy_model_test checks every part).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "policy/model/qwen3vl_config.h"

namespace visrl::policy {

struct ParamCounts {
  int64_t vision_tower = 0;  // patch projection, position table, the vision blocks
  int64_t mergers = 0;       // the merger and the DeepStack mergers (trained with freeze_vision)
  int64_t embed_tokens = 0;  // [vocab, H]
  int64_t text_layers = 0;   // decoder layers and the final norm
  int64_t lm_head = 0;       // [vocab, H] when not tied to the embedding, else 0

  int64_t total() const { return vision_tower + mergers + embed_tokens + text_layers + lm_head; }
  // What the optimizer updates: everything, or everything but the vision tower.
  int64_t trainable(bool freeze_vision) const { return freeze_vision ? total() - vision_tower : total(); }
};

ParamCounts count_parameters(const Qwen3VLConfig& config);

// One Linear layer: what LoRA can adapt (an adapter has r * (in + out) parameters).
struct LinearShape {
  std::string path;  // module path, e.g. "model.language_model.layers.0.self_attn.q_proj"
  int64_t in = 0, out = 0;
};
// Every Linear layer of the model (vision blocks and mergers, decoder projections, an untied
// lm_head), by the module paths the model has.
std::vector<LinearShape> linear_layers(const Qwen3VLConfig& config);

}  // namespace visrl::policy
