// Tiny random Qwen3-VL models for tests, benchmarks and the CPU quickstart: a small config
// whose vocabulary and vision token ids come from a tokenizer.json, seeded transformers-style
// weights, and a complete checkpoint directory (weights, config, tokenizer, preprocessor and
// generation configs) that load_pretrained and transformers' from_pretrained both load.
#pragma once

#include <cstdint>
#include <filesystem>

#include <c10/core/ScalarType.h>

#include "policy/model/qwen3vl.h"
#include "policy/model/qwen3vl_config.h"

namespace visrl::policy {

struct TinyModelOptions {
  std::filesystem::path tokenizer_dir;  // holds tokenizer.json and tokenizer_config.json
  uint64_t seed = 0;
  int64_t hidden_size = 64;       // text hidden size (= vision out_hidden_size)
  int64_t num_layers = 2;         // text decoder layers
  int64_t intermediate_size = 0;  // text MLP width; 0: 2 x hidden_size
  int64_t vision_depth = 2;
  int64_t vision_hidden_size = 32;
  bool tie_word_embeddings = true;
  at::ScalarType dtype = at::kFloat;
};

// A small Qwen3-VL configuration: 4 heads (2 KV heads) of 16, mrope [4, 2, 2], a 2-block
// vision encoder of width 32 with 16-pixel patches, 2x2 merging, a 6x6 position table and
// DeepStack after vision blocks 0 and 1. vocab_size is the tokenizer's size rounded up to a
// multiple of 64; the vision token ids are the tokenizer's. Throws visrl::Error naming the
// tokenizer.json when it cannot be read or lacks a vision token, and for bad sizes.
Qwen3VLConfig tiny_config(const TinyModelOptions& options);

// A model of `config` with seeded weights, as transformers initialises them: Linear, Conv and
// Embedding weights N(0, 0.02), biases 0, LayerNorm and RMSNorm weights 1. The same seed
// gives bitwise the same weights (a private generator; the global RNG is not touched).
Qwen3VL init_random(const Qwen3VLConfig& config, uint64_t seed, at::ScalarType dtype = at::kFloat);

// Writes a checkpoint directory: config.json + model.safetensors (save_pretrained),
// tokenizer.json and tokenizer_config.json copied from options.tokenizer_dir, a
// preprocessor_config.json with a small pixel budget, and a generation_config.json.
void save_tiny_model(const std::filesystem::path& dir, const TinyModelOptions& options);

}  // namespace visrl::policy
