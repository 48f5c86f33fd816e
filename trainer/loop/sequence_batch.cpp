#include "trainer/loop/sequence_batch.h"

#include <algorithm>

#include "core/error.h"

namespace visrl::trainer {

SequenceBatch make_sequence_batch(const std::vector<SequenceRef>& sequences, int64_t pad_token_id) {
  if (sequences.empty()) fail(ErrorKind::runtime, "make_sequence_batch: no sequences");
  const auto B = static_cast<int64_t>(sequences.size());
  int64_t T = 0, L = 1;
  for (const auto& s : sequences) {
    const auto r = static_cast<int64_t>(s.response->size());
    T = std::max(T, s.prompt->input_ids.numel() + r);
    L = std::max(L, r);
  }
  SequenceBatch out;
  auto ids = at::full({B, T}, pad_token_id, at::kLong);
  auto valid = at::zeros({B, T}, at::kBool);
  auto score = at::zeros({B, T - 1}, at::kBool);
  out.response_index = at::zeros({B, L}, at::kLong);
  out.response_mask = at::zeros({B, L}, at::kBool);
  std::vector<at::Tensor> pixels, grids;
  for (int64_t b = 0; b < B; ++b) {
    const auto& s = sequences[static_cast<size_t>(b)];
    const int64_t P = s.prompt->input_ids.numel(), R = static_cast<int64_t>(s.response->size());
    ids[b].narrow(0, 0, P).copy_(s.prompt->input_ids);
    if (R > 0) ids[b].narrow(0, P, R).copy_(at::tensor(*s.response, at::kLong));
    valid[b].narrow(0, 0, P + R).fill_(true);
    // Position t scores token t + 1: response token j (at P + j) is scored at P - 1 + j.
    if (R > 0) {
      score[b].narrow(0, P - 1, R).fill_(true);
      out.response_index[b].narrow(0, 0, R).copy_(at::arange(P - 1, P - 1 + R, at::kLong));
      out.response_mask[b].narrow(0, 0, R).fill_(true);
    }
    out.tokens += R;
    if (s.prompt->pixel_values.defined()) {
      pixels.push_back(s.prompt->pixel_values);
      grids.push_back(s.prompt->image_grid_thw.to(at::kLong));
    }
  }
  out.batch.input_ids = ids;
  out.batch.attention_mask = valid;
  out.batch.score_mask = score;
  if (!pixels.empty()) {
    out.batch.pixel_values = at::cat(pixels);
    out.batch.image_grid_thw = at::cat(grids);
  }
  return out;
}

at::Tensor response_values(const at::Tensor& per_position, const SequenceBatch& batch) {
  auto index = batch.response_index.to(per_position.device());
  auto values = per_position.gather(1, index);  // [B, L]
  return at::where(batch.response_mask.to(per_position.device()), values, at::zeros_like(values));
}

}  // namespace visrl::trainer
