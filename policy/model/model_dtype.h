// The dtype a model runs in, from a config value: "auto" is bf16 on CUDA and fp32 on a CPU
// (the policy, the reference, the in-process critic and the memory planner all decide it here).
#pragma once

#include <string>

#include "policy/model/hf_checkpoint.h"

namespace visrl::policy {

// "auto" | "bf16" | "fp16" | "fp32" (and the long names); throws visrl::Error naming `key`.
inline at::ScalarType model_dtype(const std::string& name, bool cuda, const std::string& key) {
  if (name == "auto") return cuda ? at::kBFloat16 : at::kFloat;
  return dtype_from_name(name, key);
}

}  // namespace visrl::policy
