// LoRA on a Qwen3-VL: attaching adapters to the Linear layers PEFT's rules select, listing
// their tensors, switching them off (the KL reference is the base alone) and merging them into
// the base for generation. Tensor names are the module path plus ".lora_A.weight" /
// ".lora_B.weight"; PEFT's files prefix them with "base_model.model." (lora_checkpoint.h).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <ATen/ATen.h>

#include "policy/model/lora_adapter.h"
#include "policy/model/qwen3vl.h"

namespace visrl::policy {

// LoraMerged and merge_lora_into_base add B A into a weight this many bytes of float32 rows
// at a time, so their temporaries stay a few MiB whatever the layer's size.
inline constexpr int64_t kLoraMergeChunkBytes = 4 << 20;

// The exclude_regex that keeps the vision tower and its mergers without adapters.
inline constexpr const char* kVisionModulesRegex = R"(model\.visual\..*)";

// PEFT's check_target_module_exists for one Linear layer at `module_path`: excluded by
// exclude_*, else selected by target_regex (a full match) or by target_modules (a name equal
// to the path or to its end after a '.'; "all-linear" selects every Linear but lm_head).
bool lora_targets(const LoraSpec& spec, const std::string& module_path);

// Attaches fresh adapters to every Linear layer `spec` selects, on the model's device, and
// freezes every base parameter (requires_grad false). A is drawn from a generator seeded with
// `seed` (on the CPU, in module order, so every device and rank draws the same), B is zero.
// Returns the adapted module paths. Throws Error(config) when the model already has adapters,
// when rank < 1 or when nothing matches (naming target_modules).
std::vector<std::string> add_lora(Qwen3VLImpl& model, const LoraSpec& spec, uint64_t seed);

// The attached adapters by module path, in module order.
std::vector<std::pair<std::string, std::shared_ptr<LoraAdapter>>> lora_adapters(Qwen3VLImpl& model);
// Their tensors: "<module path>.lora_A.weight" [r, in], "<module path>.lora_B.weight" [out, r].
std::vector<std::pair<std::string, at::Tensor>> lora_parameters(Qwen3VLImpl& model);

// Sets every attached adapter's dropout (and the model's LoraSpec, which saved adapters record).
void set_lora_dropout(Qwen3VLImpl& model, double dropout);

inline bool has_lora(const Qwen3VLImpl& model) {
  return model.lora != nullptr;
}

// While alive, the model is its base alone (every adapter switched off). Throws when the
// adapters are merged. A no-op for a model without adapters.
class LoraDisabled {
 public:
  explicit LoraDisabled(Qwen3VLImpl& model);
  ~LoraDisabled();
  LoraDisabled(const LoraDisabled&) = delete;
  LoraDisabled& operator=(const LoraDisabled&) = delete;

 private:
  std::vector<std::shared_ptr<LoraAdapter>> adapters_;
};

// While alive, every adapter is merged into its base weight, W <- cast(W + scaling B A) (the
// sum in float32), so that generation runs the plain model: no extra matmuls per projection.
// The destructor puts the base back bit for bit: it reads the adapted weights again from
// model.loaded_from (a rounding-free unmerge, at no memory cost), or, for a model built in
// memory, from copies taken before the merge. A no-op for a model without adapters.
class LoraMerged {
 public:
  explicit LoraMerged(Qwen3VLImpl& model);
  // Throws Error(io) when the base cannot be read again: the model is then unusable.
  ~LoraMerged() noexcept(false);
  void unmerge();  // what the destructor does, earlier; idempotent
  LoraMerged(const LoraMerged&) = delete;
  LoraMerged& operator=(const LoraMerged&) = delete;

 private:
  Qwen3VLImpl& model_;
  std::vector<std::pair<std::string, LinearImpl*>> merged_;  // by module path
  std::vector<at::Tensor> copies_;                           // the bases, when there is no directory to read them from
};

// Adds every adapter into its base weight for good and removes the adapters: the model is a
// plain Qwen3-VL again (`export --merge-lora`).
void merge_lora_into_base(Qwen3VLImpl& model);

}  // namespace visrl::policy
