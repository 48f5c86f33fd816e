// The architecture hyper-parameters of a Qwen3-VL checkpoint, read from its config.json.
// Both config spellings are accepted: transformers 4.57 (`rope_scaling` + `rope_theta`) and
// transformers 5 (`rope_parameters`). The parsed JSON is kept so that saving writes back
// exactly what was read (plus the dtype), which transformers and vLLM then load unchanged.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace visrl::policy {

struct VisionConfig {
  int64_t depth = 24;
  int64_t hidden_size = 1024;        // Hv
  int64_t intermediate_size = 4096;  // MLP width of a vision block
  int64_t num_heads = 16;
  int64_t in_channels = 3;
  int64_t patch_size = 16;
  int64_t temporal_patch_size = 2;
  int64_t spatial_merge_size = 2;
  int64_t out_hidden_size = 2048;          // = text hidden size
  int64_t num_position_embeddings = 2304;  // a square table: 48 x 48
  std::vector<int64_t> deepstack_visual_indexes{5, 11, 17};
  double rope_theta = 10000.0;
  std::string hidden_act = "gelu_pytorch_tanh";

  int64_t head_dim() const { return hidden_size / num_heads; }
  int64_t patch_dim() const { return in_channels * temporal_patch_size * patch_size * patch_size; }  // 1536
  int64_t merged_dim() const { return hidden_size * spatial_merge_size * spatial_merge_size; }     // 4 Hv
};

struct TextConfig {
  int64_t vocab_size = 151936;
  int64_t hidden_size = 2048;
  int64_t intermediate_size = 6144;
  int64_t num_hidden_layers = 28;
  int64_t num_attention_heads = 16;
  int64_t num_key_value_heads = 8;
  int64_t head_dim = 128;
  int64_t max_position_embeddings = 262144;
  double rms_norm_eps = 1e-6;
  double rope_theta = 5000000.0;
  std::vector<int64_t> mrope_section{24, 20, 20};  // frequencies per (T, H, W); sums to head_dim / 2
  std::string hidden_act = "silu";
};

struct Qwen3VLConfig {
  VisionConfig vision;
  TextConfig text;
  bool tie_word_embeddings = true;
  int64_t image_token_id = 151655;
  int64_t video_token_id = 151656;
  int64_t vision_start_token_id = 151652;
  int64_t vision_end_token_id = 151653;
  nlohmann::json raw;  // the config.json as read (or as generated), written back on save

  // Throws visrl::Error naming the file and the key: missing file, bad JSON, unknown
  // architecture, inconsistent sizes (heads x head_dim, mrope sections, deepstack indexes).
  static Qwen3VLConfig from_file(const std::filesystem::path& config_json);
  static Qwen3VLConfig from_json(const nlohmann::json& json, const std::string& where);

  // The HF config.json for this configuration: `raw` with the sizes above written into it,
  // readable by transformers 4.57+ and 5.x (both rope spellings are written).
  nlohmann::json to_json(const std::string& dtype) const;
};

}  // namespace visrl::policy
