#include "policy/model/param_count.h"

namespace visrl::policy {
namespace {

int64_t linear(int64_t in, int64_t out, bool bias) {
  return in * out + (bias ? out : 0);
}

}  // namespace

ParamCounts count_parameters(const Qwen3VLConfig& config) {
  const auto& v = config.vision;
  const auto& t = config.text;
  ParamCounts n;
  const int64_t Hv = v.hidden_size;
  // Vision blocks: two LayerNorms (weight + bias), fused qkv and proj with bias, the MLP.
  const int64_t block = 2 * (2 * Hv) + linear(Hv, 3 * Hv, true) + linear(Hv, Hv, true) +
                        linear(Hv, v.intermediate_size, true) + linear(v.intermediate_size, Hv, true);
  n.vision_tower = linear(v.patch_dim(), Hv, true) + v.num_position_embeddings * Hv + v.depth * block;
  // A merger: LayerNorm (over Hv before grouping, over 4 Hv after it for DeepStack), fc1, fc2.
  const int64_t merger_linears =
      linear(v.merged_dim(), v.merged_dim(), true) + linear(v.merged_dim(), v.out_hidden_size, true);
  n.mergers = 2 * Hv + merger_linears +
              static_cast<int64_t>(v.deepstack_visual_indexes.size()) * (2 * v.merged_dim() + merger_linears);

  const int64_t H = t.hidden_size, q = t.num_attention_heads * t.head_dim, kv = t.num_key_value_heads * t.head_dim;
  n.embed_tokens = t.vocab_size * H;
  const int64_t layer = linear(H, q, false) + 2 * linear(H, kv, false) + linear(q, H, false) + 2 * t.head_dim +
                        3 * linear(H, t.intermediate_size, false) + 2 * H;
  n.text_layers = t.num_hidden_layers * layer + H;
  n.lm_head = config.tie_word_embeddings ? 0 : t.vocab_size * H;
  return n;
}

std::vector<LinearShape> linear_layers(const Qwen3VLConfig& config) {
  const auto& v = config.vision;
  const auto& t = config.text;
  std::vector<LinearShape> out;
  const int64_t Hv = v.hidden_size;
  for (int64_t i = 0; i < v.depth; ++i) {
    const auto block = "model.visual.blocks." + std::to_string(i);
    out.push_back({block + ".attn.qkv", Hv, 3 * Hv});
    out.push_back({block + ".attn.proj", Hv, Hv});
    out.push_back({block + ".mlp.linear_fc1", Hv, v.intermediate_size});
    out.push_back({block + ".mlp.linear_fc2", v.intermediate_size, Hv});
  }
  const auto merger = [&](const std::string& path) {
    out.push_back({path + ".linear_fc1", v.merged_dim(), v.merged_dim()});
    out.push_back({path + ".linear_fc2", v.merged_dim(), v.out_hidden_size});
  };
  merger("model.visual.merger");
  for (size_t j = 0; j < v.deepstack_visual_indexes.size(); ++j) {
    merger("model.visual.deepstack_merger_list." + std::to_string(j));
  }
  const int64_t H = t.hidden_size, q = t.num_attention_heads * t.head_dim, kv = t.num_key_value_heads * t.head_dim;
  for (int64_t i = 0; i < t.num_hidden_layers; ++i) {
    const auto layer = "model.language_model.layers." + std::to_string(i);
    out.push_back({layer + ".self_attn.q_proj", H, q});
    out.push_back({layer + ".self_attn.k_proj", H, kv});
    out.push_back({layer + ".self_attn.v_proj", H, kv});
    out.push_back({layer + ".self_attn.o_proj", q, H});
    out.push_back({layer + ".mlp.gate_proj", H, t.intermediate_size});
    out.push_back({layer + ".mlp.up_proj", H, t.intermediate_size});
    out.push_back({layer + ".mlp.down_proj", t.intermediate_size, H});
  }
  if (!config.tie_word_embeddings) out.push_back({"lm_head", H, t.vocab_size});
  return out;
}

}  // namespace visrl::policy
