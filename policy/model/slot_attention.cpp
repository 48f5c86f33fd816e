#include "policy/model/slot_attention.h"

#include <ATen/TensorIndexing.h>

#include "policy/model/batch_invariant.h"

namespace visrl::policy {
namespace {

// [C*G, KVH, rep, X] rows in fold order <-> [C, KVH, G*rep, X] per prompt entry.
at::Tensor fold(const at::Tensor& rows, int64_t C, int64_t G) {
  const int64_t KVH = rows.size(1), rep = rows.size(2), X = rows.size(3);
  return rows.view({C, G, KVH, rep, X}).permute({0, 2, 1, 3, 4}).reshape({C, KVH, G * rep, X});
}
at::Tensor unfold(const at::Tensor& folded, int64_t G) {
  const int64_t C = folded.size(0), KVH = folded.size(1), rep = folded.size(2) / G, X = folded.size(3);
  return folded.view({C, KVH, G, rep, X}).permute({0, 2, 1, 3, 4}).reshape({C * G, KVH, rep, X});
}

at::Tensor batched(const at::Tensor& qg, const SlotLayerKV& kv, const SlotKVCache& cache, double scale) {
  const auto& s = cache.step;
  const int64_t Na = qg.size(0), KVH = qg.size(1), rep = qg.size(2), D = qg.size(3);
  const int64_t C = s.open_prompts, G = s.group, Pm = s.prompt_len_max, L = s.own_len_max;
  auto scattered = at::zeros({C * G, KVH, rep, D}, qg.options()).index_copy_(0, s.fold_index, qg);
  auto pk = kv.prompt_k.narrow(0, 0, C).narrow(2, 0, Pm);  // [C, KVH, Pm, D]
  auto pv = kv.prompt_v.narrow(0, 0, C).narrow(2, 0, Pm);
  auto prompt_scores = at::matmul(fold(scattered, C, G), pk.transpose(-1, -2)) * scale +
                       cache.prompt_bias.narrow(0, 0, C).narrow(3, 0, Pm);          // [C, KVH, G*rep, Pm]
  auto row_prompt_scores = unfold(prompt_scores, G).index_select(0, s.fold_index);  // [Na, KVH, rep, Pm]
  auto ok = kv.own_k.narrow(0, 0, Na).narrow(2, 0, L);                              // [Na, KVH, L, D]
  auto ov = kv.own_v.narrow(0, 0, Na).narrow(2, 0, L);
  auto own_scores = at::matmul(qg, ok.transpose(-1, -2)) * scale + s.own_bias;  // [Na, KVH, rep, L]
  auto probs = at::softmax(at::cat({row_prompt_scores, own_scores}, -1), -1, at::kFloat).to(qg.scalar_type());
  auto prompt_probs =
      at::zeros({C * G, KVH, rep, Pm}, qg.options()).index_copy_(0, s.fold_index, probs.narrow(-1, 0, Pm));
  auto from_prompt =
      unfold(at::matmul(fold(prompt_probs, C, G), pv), G).index_select(0, s.fold_index);  // [Na, KVH, rep, D]
  return from_prompt + at::matmul(probs.narrow(-1, Pm, L), ov);
}

at::Tensor row_by_row(const at::Tensor& qg, const SlotLayerKV& kv, const SlotKVCache& cache, double scale) {
  const auto& s = cache.step;
  auto out = at::empty_like(qg);  // [Na, KVH, rep, D]
  for_each_row(qg.size(0), [&](int64_t r) {
    const int64_t c = s.prompt_of[r], P = s.prompt_len[r], L = s.own_len[r] + 1;
    auto q = qg[r];                                                                 // [KVH, rep, D]
    auto pk = kv.prompt_k[c].narrow(1, 0, P), pv = kv.prompt_v[c].narrow(1, 0, P);  // [KVH, P, D]
    auto ok = kv.own_k[r].narrow(1, 0, L), ov = kv.own_v[r].narrow(1, 0, L);        // [KVH, L, D]
    auto scores = at::cat({at::matmul(q, pk.transpose(-1, -2)), at::matmul(q, ok.transpose(-1, -2))}, -1) * scale;
    auto probs = at::softmax(scores, -1, at::kFloat).to(q.scalar_type());  // [KVH, rep, P + L]
    out[r].copy_(at::matmul(probs.narrow(-1, 0, P), pv) + at::matmul(probs.narrow(-1, P, L), ov));
  });
  return out;
}

}  // namespace

at::Tensor slot_decode_attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, SlotLayerKV& kv,
                                 const SlotKVCache& cache, double scale) {
  const int64_t Na = q.size(0), H = q.size(1), D = q.size(3), KVH = k.size(1);
  const auto& s = cache.step;
  // Write this step's key/value at each row's own position: own_k[r, :, own_len[r], :].
  const auto rows = at::arange(Na, s.write_position.options());
  kv.own_k.index_put_({rows, at::indexing::Slice(), s.write_position}, k.squeeze(2));
  kv.own_v.index_put_({rows, at::indexing::Slice(), s.write_position}, v.squeeze(2));
  auto qg = q.view({Na, KVH, H / KVH, D});
  auto out = batch_invariant() ? row_by_row(qg, kv, cache, scale) : batched(qg, kv, cache, scale);
  return out.reshape({Na, 1, H * D});
}

}  // namespace visrl::policy
