#include "policy/model/qwen3vl_config.h"

#include <numeric>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "core/error.h"
#include "core/json_file.h"

namespace visrl::policy {
namespace {

using nlohmann::json;

// A field of `object`, or `fallback` when absent; a value of the wrong type is an error
// naming `where` and the dotted key.
template <typename T>
T field(const json& object, const char* key, T fallback, const std::string& where, const std::string& prefix) {
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) return fallback;
  try {
    return it->get<T>();
  } catch (const json::exception&) {
    fail(ErrorKind::config, "{}: {}{}: unexpected value {}", where, prefix, key, it->dump());
  }
}

void require(bool ok, const std::string& where, const std::string& what) {
  if (!ok) fail(ErrorKind::config, "{}: {}", where, what);
}

// rope theta and mrope sections: `rope_parameters` (transformers 5) or `rope_scaling` plus
// `rope_theta` (transformers 4.57).
void read_text_rope(const json& text, TextConfig& out, const std::string& where) {
  const json* rope = nullptr;
  for (const char* key : {"rope_parameters", "rope_scaling"}) {
    auto it = text.find(key);
    if (it != text.end() && it->is_object()) {
      rope = &*it;
      break;
    }
  }
  out.rope_theta = field<double>(text, "rope_theta", out.rope_theta, where, "text_config.");
  if (rope == nullptr) return;
  out.rope_theta = field<double>(*rope, "rope_theta", out.rope_theta, where, "text_config.rope_parameters.");
  auto type = field<std::string>(*rope, "rope_type", field<std::string>(*rope, "type", "default", where, ""), where,
                                 "text_config.rope_parameters.");
  require(type == "default" || type == "mrope", where,
          fmt::format("text_config.rope_parameters.rope_type: unsupported '{}' (only default mrope)", type));
  out.mrope_section = field<std::vector<int64_t>>(*rope, "mrope_section", out.mrope_section, where,
                                                   "text_config.rope_parameters.");
  bool interleaved = field<bool>(*rope, "mrope_interleaved", true, where, "text_config.rope_parameters.");
  require(interleaved, where, "text_config.rope_parameters.mrope_interleaved: false is Qwen2.5-VL's layout, not Qwen3-VL's");
}

}  // namespace

Qwen3VLConfig Qwen3VLConfig::from_json(const json& root, const std::string& where) {
  require(root.is_object(), where, "expected a JSON object");
  Qwen3VLConfig c;
  auto model_type = field<std::string>(root, "model_type", "", where, "");
  require(model_type == "qwen3_vl", where,
          fmt::format("model_type: unsupported architecture '{}' (visrl runs qwen3_vl)", model_type));
  auto arch = field<std::vector<std::string>>(root, "architectures", {}, where, "");
  for (const auto& a : arch) {
    require(a == "Qwen3VLForConditionalGeneration", where,
            fmt::format("architectures: unsupported '{}' (expected Qwen3VLForConditionalGeneration)", a));
  }
  auto text_it = root.find("text_config");
  auto vision_it = root.find("vision_config");
  require(text_it != root.end() && text_it->is_object(), where, "text_config: missing");
  require(vision_it != root.end() && vision_it->is_object(), where, "vision_config: missing");
  const json& t = *text_it;
  const json& v = *vision_it;

  auto& tc = c.text;
  const std::string tp = "text_config.";
  tc.vocab_size = field<int64_t>(t, "vocab_size", tc.vocab_size, where, tp);
  tc.hidden_size = field<int64_t>(t, "hidden_size", tc.hidden_size, where, tp);
  tc.intermediate_size = field<int64_t>(t, "intermediate_size", tc.intermediate_size, where, tp);
  tc.num_hidden_layers = field<int64_t>(t, "num_hidden_layers", tc.num_hidden_layers, where, tp);
  tc.num_attention_heads = field<int64_t>(t, "num_attention_heads", tc.num_attention_heads, where, tp);
  tc.num_key_value_heads = field<int64_t>(t, "num_key_value_heads", tc.num_attention_heads, where, tp);
  tc.head_dim = field<int64_t>(t, "head_dim", tc.hidden_size / std::max<int64_t>(tc.num_attention_heads, 1), where, tp);
  tc.max_position_embeddings = field<int64_t>(t, "max_position_embeddings", tc.max_position_embeddings, where, tp);
  tc.rms_norm_eps = field<double>(t, "rms_norm_eps", tc.rms_norm_eps, where, tp);
  tc.hidden_act = field<std::string>(t, "hidden_act", tc.hidden_act, where, tp);
  read_text_rope(t, tc, where);
  require(!field<bool>(t, "attention_bias", false, where, tp), where, "text_config.attention_bias: true is not Qwen3-VL");

  auto& vc = c.vision;
  const std::string vp = "vision_config.";
  vc.depth = field<int64_t>(v, "depth", vc.depth, where, vp);
  vc.hidden_size = field<int64_t>(v, "hidden_size", vc.hidden_size, where, vp);
  vc.intermediate_size = field<int64_t>(v, "intermediate_size", vc.intermediate_size, where, vp);
  vc.num_heads = field<int64_t>(v, "num_heads", vc.num_heads, where, vp);
  vc.in_channels = field<int64_t>(v, "in_channels", vc.in_channels, where, vp);
  vc.patch_size = field<int64_t>(v, "patch_size", vc.patch_size, where, vp);
  vc.temporal_patch_size = field<int64_t>(v, "temporal_patch_size", vc.temporal_patch_size, where, vp);
  vc.spatial_merge_size = field<int64_t>(v, "spatial_merge_size", vc.spatial_merge_size, where, vp);
  vc.out_hidden_size = field<int64_t>(v, "out_hidden_size", tc.hidden_size, where, vp);
  vc.num_position_embeddings = field<int64_t>(v, "num_position_embeddings", vc.num_position_embeddings, where, vp);
  vc.deepstack_visual_indexes =
      field<std::vector<int64_t>>(v, "deepstack_visual_indexes", vc.deepstack_visual_indexes, where, vp);
  vc.hidden_act = field<std::string>(v, "hidden_act", vc.hidden_act, where, vp);
  if (auto rp = v.find("rope_parameters"); rp != v.end() && rp->is_object()) {
    vc.rope_theta = field<double>(*rp, "rope_theta", vc.rope_theta, where, "vision_config.rope_parameters.");
  }

  c.image_token_id = field<int64_t>(root, "image_token_id", c.image_token_id, where, "");
  c.video_token_id = field<int64_t>(root, "video_token_id", c.video_token_id, where, "");
  c.vision_start_token_id = field<int64_t>(root, "vision_start_token_id", c.vision_start_token_id, where, "");
  c.vision_end_token_id = field<int64_t>(root, "vision_end_token_id", c.vision_end_token_id, where, "");
  // transformers 4.57 kept the flag in text_config, 5.x at the top level.
  c.tie_word_embeddings = field<bool>(root, "tie_word_embeddings",
                                      field<bool>(t, "tie_word_embeddings", false, where, tp), where, "");

  // Consistency, so that a bad config fails here and not as a shape error deep in a forward.
  auto positive = [&](int64_t value, const char* key) {
    require(value > 0, where, fmt::format("{}: must be > 0, got {}", key, value));
  };
  positive(tc.vocab_size, "text_config.vocab_size");
  positive(tc.hidden_size, "text_config.hidden_size");
  positive(tc.num_hidden_layers, "text_config.num_hidden_layers");
  positive(tc.num_attention_heads, "text_config.num_attention_heads");
  positive(tc.num_key_value_heads, "text_config.num_key_value_heads");
  positive(tc.head_dim, "text_config.head_dim");
  positive(vc.depth, "vision_config.depth");
  positive(vc.hidden_size, "vision_config.hidden_size");
  positive(vc.num_heads, "vision_config.num_heads");
  require(tc.num_attention_heads % tc.num_key_value_heads == 0, where,
          "text_config.num_attention_heads must be a multiple of num_key_value_heads");
  require(tc.head_dim % 2 == 0, where, "text_config.head_dim must be even");
  require(tc.mrope_section.size() == 3 &&
              std::accumulate(tc.mrope_section.begin(), tc.mrope_section.end(), int64_t{0}) == tc.head_dim / 2,
          where,
          fmt::format("text_config.rope_parameters.mrope_section: {} must be 3 numbers summing to head_dim/2 = {}",
                      tc.mrope_section, tc.head_dim / 2));
  require(tc.mrope_section[1] <= tc.mrope_section[0] && tc.mrope_section[2] <= tc.mrope_section[0], where,
          "text_config.rope_parameters.mrope_section: the H and W sections cannot exceed the T section");
  require(vc.hidden_size % vc.num_heads == 0 && vc.head_dim() % 4 == 0, where,
          "vision_config.hidden_size / num_heads must be a multiple of 4 (2-D rotary embedding)");
  require(vc.out_hidden_size == tc.hidden_size, where,
          fmt::format("vision_config.out_hidden_size {} != text_config.hidden_size {}", vc.out_hidden_size,
                      tc.hidden_size));
  int64_t side = 0;
  while ((side + 1) * (side + 1) <= vc.num_position_embeddings) ++side;
  require(side * side == vc.num_position_embeddings, where,
          "vision_config.num_position_embeddings must be a square number");
  for (int64_t index : vc.deepstack_visual_indexes) {
    require(index >= 0 && index < vc.depth, where,
            fmt::format("vision_config.deepstack_visual_indexes: {} is not a vision layer (depth {})", index,
                        vc.depth));
  }
  require(static_cast<int64_t>(vc.deepstack_visual_indexes.size()) <= tc.num_hidden_layers, where,
          "vision_config.deepstack_visual_indexes: more DeepStack levels than text layers");
  for (int64_t id : {c.image_token_id, c.video_token_id, c.vision_start_token_id, c.vision_end_token_id}) {
    require(id >= 0 && id < tc.vocab_size, where,
            fmt::format("a vision token id ({}) is outside the vocabulary of {}", id, tc.vocab_size));
  }
  require(tc.hidden_act == "silu", where, fmt::format("text_config.hidden_act: unsupported '{}'", tc.hidden_act));
  require(vc.hidden_act == "gelu_pytorch_tanh", where,
          fmt::format("vision_config.hidden_act: unsupported '{}'", vc.hidden_act));
  c.raw = root;
  return c;
}

Qwen3VLConfig Qwen3VLConfig::from_file(const std::filesystem::path& path) {
  return from_json(read_json_file(path, "the model config"), path.string());
}

json Qwen3VLConfig::to_json(const std::string& dtype) const {
  json root = raw.is_object() ? raw : json::object();
  root["architectures"] = {"Qwen3VLForConditionalGeneration"};
  root["model_type"] = "qwen3_vl";
  root["image_token_id"] = image_token_id;
  root["video_token_id"] = video_token_id;
  root["vision_start_token_id"] = vision_start_token_id;
  root["vision_end_token_id"] = vision_end_token_id;
  root["tie_word_embeddings"] = tie_word_embeddings;
  root["dtype"] = dtype;

  json& t = root["text_config"];
  if (!t.is_object()) t = json::object();
  t["model_type"] = "qwen3_vl_text";
  t["vocab_size"] = text.vocab_size;
  t["hidden_size"] = text.hidden_size;
  t["intermediate_size"] = text.intermediate_size;
  t["num_hidden_layers"] = text.num_hidden_layers;
  t["num_attention_heads"] = text.num_attention_heads;
  t["num_key_value_heads"] = text.num_key_value_heads;
  t["head_dim"] = text.head_dim;
  t["max_position_embeddings"] = text.max_position_embeddings;
  t["rms_norm_eps"] = text.rms_norm_eps;
  t["hidden_act"] = text.hidden_act;
  t["attention_bias"] = false;
  t["tie_word_embeddings"] = tie_word_embeddings;
  t["dtype"] = dtype;
  // Both spellings: 4.57 reads rope_scaling + rope_theta, 5.x reads rope_parameters (and
  // converts the older one when that is all there is).
  json rope = {{"rope_type", "default"},
               {"mrope_section", text.mrope_section},
               {"mrope_interleaved", true},
               {"rope_theta", text.rope_theta}};
  t["rope_parameters"] = rope;
  rope.erase("rope_theta");
  t["rope_scaling"] = rope;
  t["rope_theta"] = text.rope_theta;

  json& v = root["vision_config"];
  if (!v.is_object()) v = json::object();
  // Keep the spelling read: transformers 5 writes "qwen3_vl_vision", the released Qwen3-VL
  // checkpoints have "qwen3_vl".
  if (!v.contains("model_type") || !v["model_type"].is_string()) v["model_type"] = "qwen3_vl";
  v["depth"] = vision.depth;
  v["hidden_size"] = vision.hidden_size;
  v["intermediate_size"] = vision.intermediate_size;
  v["num_heads"] = vision.num_heads;
  v["in_channels"] = vision.in_channels;
  v["patch_size"] = vision.patch_size;
  v["temporal_patch_size"] = vision.temporal_patch_size;
  v["spatial_merge_size"] = vision.spatial_merge_size;
  v["out_hidden_size"] = vision.out_hidden_size;
  v["num_position_embeddings"] = vision.num_position_embeddings;
  v["deepstack_visual_indexes"] = vision.deepstack_visual_indexes;
  v["hidden_act"] = vision.hidden_act;
  return root;
}

}  // namespace visrl::policy
