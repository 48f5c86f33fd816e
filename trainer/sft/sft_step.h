// One optimizer step of supervised fine-tuning: the mean negative log-likelihood of every
// answer token of the global batch (token-mean over the global token count, so N ranks train
// on exactly what one process would), micro-batch accumulation, gradient all-reduce, norm
// clipping and (sharded) AdamW: the update machinery of GRPO with the plain NLL as the loss.
#pragma once

#include <cstdint>
#include <vector>

#include "policy/model/qwen3vl.h"
#include "trainer/distributed/communicator.h"
#include "trainer/distributed/grad_sync.h"
#include "trainer/distributed/sharded_adamw.h"
#include "trainer/loop/sequence_batch.h"

namespace visrl::trainer {

struct SftStepOptions {
  int64_t micro_batch_size = 4;  // sequences per forward/backward on this rank
  double grad_clip = 1.0;        // 0 = off
  int64_t pad_token_id = 0;
  int64_t logprob_chunk_tokens = 0;  // forward_logprobs' chunk (model.logprob_chunk_tokens); 0 = all at once
};

struct SftStepStats {
  double loss = 0;    // mean NLL per answer token, over the global batch
  double tokens = 0;  // answer tokens of the global batch
  double grad_norm = 0;
  double forward_backward_s = 0, optimizer_s = 0;  // this rank's
};

// `mine`: this rank's share of the global batch (prompt + answer ids). Every rank must call it.
SftStepStats sft_step(policy::Qwen3VLImpl& model, ShardedAdamW& optimizer, GradientBuckets& gradients,
                      Communicator& comm, const std::vector<SequenceRef>& mine, const SftStepOptions& options,
                      double lr);

}  // namespace visrl::trainer
