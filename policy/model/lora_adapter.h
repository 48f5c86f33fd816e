// One LoRA adapter (Hu et al. 2021) on a Linear layer, in PEFT's convention:
//   y = W x + b + scaling * B (A dropout(x))
// with scaling = alpha / r (alpha / sqrt(r) for rsLoRA). The base W stays frozen in the model's
// dtype; A and B are float32 and trainable, and the adapter path runs in float32 before the
// sum is cast back to the base's dtype, as PEFT does. lora.h attaches adapters to a model.
#pragma once

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include <ATen/ATen.h>

namespace visrl::policy {

// Which Linear layers get an adapter and how it is made: PEFT's LoraConfig.
struct LoraSpec {
  int64_t rank = 0;  // r; 0 = no adapters
  double alpha = 0;  // lora_alpha
  double dropout = 0;
  bool use_rslora = false;  // scaling alpha / sqrt(r) instead of alpha / r
  // PEFT's target_modules: names matched against the end of each module path ("q_proj" adapts
  // every "....q_proj"), or {"all-linear"} (every Linear but lm_head); target_regex, when set,
  // is PEFT's string form instead, matched against the whole path.
  std::vector<std::string> target_modules;
  std::string target_regex;
  // PEFT's exclude_modules, in the same two forms (the config's `vision: false` is the regex
  // "model\.visual\..*").
  std::vector<std::string> exclude_modules;
  std::string exclude_regex;
  std::string init = "default";  // default: A kaiming-uniform, B = 0 (PEFT's True) | gaussian: A ~ N(0, 1/r), B = 0

  double scaling() const {
    return use_rslora ? alpha / std::sqrt(static_cast<double>(rank)) : alpha / static_cast<double>(rank);
  }
};

struct LoraAdapter {
  at::Tensor A;  // [r, in] float32 ("lora_A.weight")
  at::Tensor B;  // [out, r] float32 ("lora_B.weight")
  double scaling = 1.0;
  double dropout = 0.0;  // on the adapter's input, in training mode only
  bool enabled = true;   // false: the layer is its base alone (the KL reference)
  bool merged = false;   // scaling * B A has been added to W: the forward must not add it again

  bool adds_path() const { return enabled && !merged; }
};

}  // namespace visrl::policy
