// Hugging Face checkpoint directories for Qwen3-VL: config.json plus model.safetensors or a
// sharded model.safetensors.index.json. Loading checks every tensor name and shape; saving
// writes the layout transformers' save_pretrained writes, so transformers and vLLM load it.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>

#include <c10/core/Device.h>
#include <c10/core/ScalarType.h>

#include "policy/model/qwen3vl.h"

namespace visrl::policy {

struct LoadOptions {
  std::optional<at::ScalarType> dtype;  // unset: the checkpoint's dtype (config "dtype"/"torch_dtype"), else float32
  c10::Device device = c10::kCPU;
};

// Throws visrl::Error naming the directory and, for tensors, every missing, unexpected or
// mis-shaped name (a tied checkpoint that still carries lm_head.weight is accepted).
// A LoRA adapter directory (adapter_config.json, PEFT's layout) loads its base model
// (base_model_name_or_path) with the adapters attached: lora_checkpoint.h.
Qwen3VL load_pretrained(const std::filesystem::path& dir, const LoadOptions& options = {});

struct SaveOptions {
  uint64_t max_shard_bytes = 5ull << 30;  // transformers' default "5GB"; one shard -> model.safetensors
  std::optional<at::ScalarType> dtype;    // unset: the model's dtype
  // Tokenizer, chat template, preprocessor and generation configs are copied from here
  // (usually the directory the model was loaded from) when set.
  std::optional<std::filesystem::path> copy_assets_from;
};

// Writes the base weights: LoRA adapters are not parameters and are left out (save_adapter and
// merge_lora_into_base write them).
void save_pretrained(Qwen3VLImpl& model, const std::filesystem::path& dir, const SaveOptions& options = {});

// Copies the tokenizer, chat template, processor and generation configs of checkpoint
// directory `from` into `dir` (nothing when they are the same directory).
void copy_model_assets(const std::filesystem::path& from, const std::filesystem::path& dir);

// "bfloat16" | "float32" | "float16" <-> ScalarType; throws visrl::Error naming `where`.
at::ScalarType dtype_from_name(const std::string& name, const std::string& where);
std::string dtype_name(at::ScalarType dtype);

}  // namespace visrl::policy
