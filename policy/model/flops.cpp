#include "policy/model/flops.h"

namespace visrl::policy {
namespace {

// FLOPs of [rows, in] x [in, out].
double matmul(double rows, double in, double out) {
  return 2.0 * rows * in * out;
}

}  // namespace

ForwardFlops forward_flops(const Qwen3VLConfig& config, const ForwardWork& work) {
  const auto& v = config.vision;
  const auto& t = config.text;
  ForwardFlops f;
  const double mergers = 1.0 + static_cast<double>(v.deepstack_visual_indexes.size());
  for (const int64_t n_int : work.image_patches) {
    const double n = static_cast<double>(n_int);
    const double hv = static_cast<double>(v.hidden_size);
    f.patch_embed += matmul(n, static_cast<double>(v.patch_dim()), hv);
    const double block = matmul(n, hv, 3 * hv)                                           // qkv
                         + 2 * matmul(n, hv, n)                                          // scores, weighted values
                         + matmul(n, hv, hv)                                             // proj
                         + 2 * matmul(n, hv, static_cast<double>(v.intermediate_size));  // fc1, fc2
    f.vision += static_cast<double>(v.depth) * block;
    const double merged_rows = n / static_cast<double>(v.spatial_merge_size * v.spatial_merge_size);
    const double md = static_cast<double>(v.merged_dim());
    f.mergers +=
        mergers * (matmul(merged_rows, md, md) + matmul(merged_rows, md, static_cast<double>(v.out_hidden_size)));
  }
  const double h = static_cast<double>(t.hidden_size);
  const double q_dim = static_cast<double>(t.num_attention_heads * t.head_dim);
  const double kv_dim = static_cast<double>(t.num_key_value_heads * t.head_dim);
  const double layers = static_cast<double>(t.num_hidden_layers);
  for (const int64_t rows_int : work.row_tokens) {
    const double n = static_cast<double>(rows_int);
    f.text += layers * (matmul(n, h, q_dim + 2 * kv_dim) + matmul(n, q_dim, h) +
                        3 * matmul(n, h, static_cast<double>(t.intermediate_size)));
    const double pairs = work.text_pairs == AttentionPairs::causal ? n * (n + 1) / 2 : n * n;
    f.attention += layers * 2 * 2 * pairs * q_dim;  // QK^T and PV, each 2 * pairs * head_dim per head
  }
  f.lm_head = matmul(static_cast<double>(work.scored_positions), h, static_cast<double>(t.vocab_size));
  return f;
}

double backward_flops(const ForwardFlops& forward) {
  return 2.0 * forward.total() - forward.patch_embed;
}

}  // namespace visrl::policy
