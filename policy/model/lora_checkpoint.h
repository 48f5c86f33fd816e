// LoRA adapters on disk in PEFT's layout, so that peft.PeftModel.from_pretrained loads what
// visrl writes and visrl loads what peft writes:
//   adapter_config.json        PEFT's LoraConfig (r, lora_alpha, target_modules, ...) and
//                              base_model_name_or_path, the base checkpoint it adapts
//   adapter_model.safetensors  float32 "base_model.model.<module path>.lora_A.weight" [r, in]
//                              and ".lora_B.weight" [out, r]
// plus, when visrl writes it, the base's tokenizer and processor files (so that the directory
// can stand for the policy wherever a model path is taken).
#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "policy/model/hf_checkpoint.h"
#include "policy/model/lora_adapter.h"
#include "policy/model/qwen3vl.h"

namespace visrl::policy {

inline constexpr const char* kAdapterConfig = "adapter_config.json";
inline constexpr const char* kAdapterWeights = "adapter_model.safetensors";

// `dir` holds adapter_config.json.
bool is_adapter_dir(const std::filesystem::path& dir);

// PEFT's adapter_config.json <-> LoraSpec. Reading throws Error(format) naming the file and the
// key for what visrl does not implement (bias, DoRA, modules_to_save, rank/alpha patterns, ...).
nlohmann::ordered_json adapter_config_json(const LoraSpec& spec, const std::string& base_model);
LoraSpec read_adapter_spec(const std::filesystem::path& dir);
// base_model_name_or_path, a path relative to `dir` or absolute. Throws Error(config) when it is
// not a checkpoint directory here (a Hub id, for example), saying to set model.path instead.
std::filesystem::path adapter_base_dir(const std::filesystem::path& dir);

// Attaches the adapters `dir` describes to `model` (add_lora with its spec) and fills them from
// its weights. Throws Error(format) naming the directory and the missing, unexpected or
// mis-shaped tensors.
void load_adapter(Qwen3VLImpl& model, const std::filesystem::path& dir);
// Fills the model's attached adapters from `dir` (a resume): the same checks.
void load_adapter_weights(Qwen3VLImpl& model, const std::filesystem::path& dir);

// load_pretrained for an adapter directory: the base from adapter_base_dir, then load_adapter.
Qwen3VL load_with_adapter(const std::filesystem::path& dir, const LoadOptions& options);

struct AdapterSaveOptions {
  std::string base_model;  // written as base_model_name_or_path
  std::optional<std::filesystem::path> copy_assets_from;
};
// Writes the model's adapters (float32) and adapter_config.json into `dir`.
void save_adapter(Qwen3VLImpl& model, const std::filesystem::path& dir, const AdapterSaveOptions& options);

}  // namespace visrl::policy
