#include "policy/model/tiny_model.h"

#include <algorithm>
#include <map>
#include <string>

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <fmt/format.h>
#include <torch/csrc/autograd/grad_mode.h>
#include <nlohmann/json.hpp>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/json_file.h"
#include "policy/image/image_processor.h"
#include "policy/model/hf_checkpoint.h"

namespace visrl::policy {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// The token ids of a tokenizer.json: its added tokens by content, and its size (largest id + 1).
struct TokenizerIds {
  std::map<std::string, int64_t> added;
  int64_t size = 0;
  fs::path path;

  int64_t id(const std::string& token) const {
    auto it = added.find(token);
    if (it == added.end()) fail(ErrorKind::config, "{}: added_tokens has no {}", path.string(), token);
    return it->second;
  }
};

TokenizerIds read_tokenizer_ids(const fs::path& tokenizer_dir) {
  TokenizerIds ids;
  ids.path = tokenizer_dir / "tokenizer.json";
  const json root = read_json_file(ids.path, "the tokenizer");
  try {
    if (auto it = root.find("added_tokens"); it != root.end() && it->is_array()) {
      for (const auto& token : *it) {
        const auto id = token.at("id").get<int64_t>();
        ids.added[token.at("content").get<std::string>()] = id;
        ids.size = std::max(ids.size, id + 1);
      }
    }
    if (auto model = root.find("model"); model != root.end() && model->is_object()) {
      if (auto vocab = model->find("vocab"); vocab != model->end() && vocab->is_object()) {
        for (const auto& item : vocab->items()) ids.size = std::max(ids.size, item.value().get<int64_t>() + 1);
      }
    }
  } catch (const json::exception& e) {
    fail(ErrorKind::format, "{}: unexpected tokenizer layout: {}", ids.path.string(), e.what());
  }
  if (ids.size == 0) fail(ErrorKind::format, "{}: no tokens", ids.path.string());
  return ids;
}

}  // namespace

namespace {

Qwen3VLConfig tiny_config_for(const TokenizerIds& ids, const TinyModelOptions& options) {
  const int64_t hidden = options.hidden_size;
  const int64_t intermediate = options.intermediate_size > 0 ? options.intermediate_size : 2 * hidden;
  json text = {
      {"model_type", "qwen3_vl_text"},
      {"vocab_size", (ids.size + 63) / 64 * 64},
      {"hidden_size", hidden},
      {"intermediate_size", intermediate},
      {"num_hidden_layers", options.num_layers},
      {"num_attention_heads", 4},
      {"num_key_value_heads", 2},
      {"head_dim", 16},
      {"max_position_embeddings", 32768},
      {"rms_norm_eps", 1e-6},
      {"hidden_act", "silu"},
      {"attention_bias", false},
      {"attention_dropout", 0.0},
      {"initializer_range", 0.02},
      {"use_cache", true},
      {"rope_parameters",
       {{"rope_type", "default"},
        {"rope_theta", 5000000.0},
        {"mrope_section", {4, 2, 2}},
        {"mrope_interleaved", true}}},
  };
  json vision = {
      {"model_type", "qwen3_vl"},
      {"depth", options.vision_depth},
      {"hidden_size", options.vision_hidden_size},
      {"intermediate_size", 2 * options.vision_hidden_size},
      {"num_heads", 2},
      {"in_channels", 3},
      {"patch_size", 16},
      {"temporal_patch_size", 2},
      {"spatial_merge_size", 2},
      {"out_hidden_size", hidden},
      {"num_position_embeddings", 36},
      {"deepstack_visual_indexes", {0, 1}},
      {"hidden_act", "gelu_pytorch_tanh"},
      {"initializer_range", 0.02},
  };
  json root = {
      {"architectures", {"Qwen3VLForConditionalGeneration"}},
      {"model_type", "qwen3_vl"},
      {"text_config", text},
      {"vision_config", vision},
      {"tie_word_embeddings", options.tie_word_embeddings},
      {"image_token_id", ids.id("<|image_pad|>")},
      {"video_token_id", ids.id("<|video_pad|>")},
      {"vision_start_token_id", ids.id("<|vision_start|>")},
      {"vision_end_token_id", ids.id("<|vision_end|>")},
  };
  return Qwen3VLConfig::from_json(root, fmt::format("tiny config (tokenizer {})", ids.path.string()));
}

}  // namespace

Qwen3VLConfig tiny_config(const TinyModelOptions& options) {
  return tiny_config_for(read_tokenizer_ids(options.tokenizer_dir), options);
}

Qwen3VL init_random(const Qwen3VLConfig& config, uint64_t seed, at::ScalarType dtype) {
  // The modules' parameters start uninitialised (linear.h): nothing draws from the global
  // generator, and every parameter is set below.
  Qwen3VL model(config);
  auto generator = at::detail::createCPUGenerator(seed);
  torch::NoGradGuard no_grad;
  // named_parameters() has a fixed order, so the draws (made in float32, then cast) are too.
  for (auto& item : model->named_parameters(/*recurse=*/true)) {
    const std::string& name = item.key();
    auto& param = item.value();
    const bool is_bias = name.size() >= 5 && name.compare(name.size() - 5, 5, ".bias") == 0;
    const bool is_norm_weight = !is_bias && name.find("norm") != std::string::npos;
    at::Tensor value;
    if (is_bias) {
      value = at::zeros(param.sizes(), at::kFloat);
    } else if (is_norm_weight) {
      value = at::ones(param.sizes(), at::kFloat);
    } else {
      value = at::normal(0.0, 0.02, param.sizes(), generator, at::TensorOptions().dtype(at::kFloat));
    }
    param.set_data(value.to(dtype));
  }
  model->eval();
  return model;
}

void save_tiny_model(const fs::path& dir, const TinyModelOptions& options) {
  const auto ids = read_tokenizer_ids(options.tokenizer_dir);
  const auto config = tiny_config_for(ids, options);
  auto model = init_random(config, options.seed, options.dtype);
  save_pretrained(*model, dir);
  for (const char* name : {"tokenizer.json", "tokenizer_config.json"}) {
    const auto from = options.tokenizer_dir / name;
    if (!fs::exists(from)) fail(ErrorKind::io, "{}: missing (needed for the tiny model)", from.string());
    fs::copy_file(from, dir / name, fs::copy_options::overwrite_existing);
  }
  // transformers' processors read the chat template from chat_template.jinja (the tokenizer
  // from tokenizer_config.json): write it there too, as processor.save_pretrained does.
  if (fs::exists(options.tokenizer_dir / "chat_template.jinja")) {
    fs::copy_file(options.tokenizer_dir / "chat_template.jinja", dir / "chat_template.jinja",
                  fs::copy_options::overwrite_existing);
  } else {
    const auto tokenizer_config =
        read_json_file(options.tokenizer_dir / "tokenizer_config.json", "the tokenizer config");
    if (auto it = tokenizer_config.find("chat_template"); it != tokenizer_config.end() && it->is_string()) {
      write_file_atomically(dir / "chat_template.jinja", it->get<std::string>());
    }
  }
  // A small pixel budget (1024 to 65536 pixels, at most 256 patches) keeps images cheap for
  // a tiny model.
  ImageProcessorConfig preprocessor;
  preprocessor.min_pixels = 1024;
  preprocessor.max_pixels = 65536;
  preprocessor.save(dir / "preprocessor_config.json");
  const json generation = {
      {"eos_token_id", {ids.id("<|im_end|>"), ids.id("<|endoftext|>")}},
      {"pad_token_id", ids.id("<|endoftext|>")},
  };
  write_file_atomically(dir / "generation_config.json", generation.dump(2) + "\n");
}

}  // namespace visrl::policy
