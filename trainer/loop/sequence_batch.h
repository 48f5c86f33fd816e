// Prompt + response sequences as one right-padded, teacher-forced batch for
// policy::forward_logprobs, and the way back from its [B, T-1] outputs to per-response
// [B, L] tensors (L = the longest response of the batch).
#pragma once

#include <cstdint>
#include <vector>

#include "policy/generate/engine.h"
#include "policy/generate/logprobs.h"

namespace visrl::trainer {

struct SequenceRef {
  const policy::PromptInput* prompt = nullptr;  // input_ids [P], image
  const std::vector<int64_t>* response = nullptr;
};

struct SequenceBatch {
  policy::LogprobBatch batch;  // input_ids / attention_mask [B, T], images in row order, score_mask [B, T-1]
  at::Tensor response_index;   // [B, L] int64: the output position that scores response token j
  at::Tensor response_mask;    // [B, L] bool: j < the row's response length
  int64_t tokens = 0;          // response tokens in the batch
};

SequenceBatch make_sequence_batch(const std::vector<SequenceRef>& sequences, int64_t pad_token_id);

// per_position [B, T-1] (forward_logprobs' logprobs or entropies) -> [B, L], 0 off the mask.
at::Tensor response_values(const at::Tensor& per_position, const SequenceBatch& batch);

}  // namespace visrl::trainer
