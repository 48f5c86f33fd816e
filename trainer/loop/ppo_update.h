// The policy update of one step: PPO epochs over mini-batches, micro-batch gradient
// accumulation, data-parallel gradient all-reduce, clipping and the (sharded) AdamW step.
// Orchestration only: the loss is trainer/algorithms/grpo_loss.h.
//
//   ppo_update              epochs x mini-batches: minibatch_gradients, then apply_gradients
//   minibatch_gradients     one mini-batch on this rank: micro-batches, each micro_batch_backward
//   micro_batch_backward    forward, grpo_loss, backward
#pragma once

#include <cstdint>
#include <vector>

#include "policy/model/qwen3vl.h"
#include "trainer/algorithms/grpo_loss.h"
#include "trainer/distributed/communicator.h"
#include "trainer/distributed/grad_sync.h"
#include "trainer/distributed/sharded_adamw.h"
#include "trainer/loop/sequence_batch.h"

namespace visrl::trainer {

struct UpdateSequence {
  SequenceRef ref;
  double advantage = 0;
  // [L] float32 (the log-probs' dtype: float64 for a float64 policy)
  at::Tensor old_logp;      // undefined = on-policy (the current log-probs, detached)
  at::Tensor ref_logp;      // undefined = no KL
  at::Tensor rollout_logp;  // the generation engine's; undefined = unknown
};

// Built from Config by update_options (trainer/loop/update_options.h); value-initialised here.
struct UpdateOptions {
  int64_t micro_batch_size{};
  int64_t max_tokens_per_micro_batch{};  // 0 = micro_batch_size sequences per micro-batch (micro_batches.h)
  int64_t ppo_epochs{};
  GrpoLossOptions loss;
  double norm_constant{};          // seq-mean-token-sum-norm's C: rollout.max_new_tokens
  double temperature{};            // the sampler's: log-probs are of logits / temperature
  int64_t logprob_chunk_tokens{};  // forward_logprobs' chunk (model.logprob_chunk_tokens); 0 = all at once
  double grad_clip{};              // max global grad norm; 0 = no clipping
  int64_t pad_token_id{};
  bool inject_nan_loss = false;  // tests (trainer/loop/fault_injection.h): this rank's loss becomes NaN
};

// Sums over this rank's response tokens (and counts) of the first epoch, which describes the
// samples (later epochs are off-policy); reduced across ranks by the caller.
struct UpdateStats {
  double tokens = 0;
  double pg_loss_sum = 0;  // per-token policy loss
  double entropy_sum = 0;
  double kl_sum = 0;      // per-token KL to the reference (when ref_logp is set)
  double ppo_kl_sum = 0;  // old_logp - logp
  double clipped = 0;
  double dual_clipped = 0;
  // Generation-time log-probs vs the update's (the same weights, the same tokens): the engine
  // mismatch that rollout correction is for. Over the tokens whose rollout_logp is known.
  double rollout_tokens = 0;
  double logprob_diff_sum = 0;  // |rollout_logp - old_logp|
  double logprob_diff_max = 0;
  double is_weight_sum = 0;  // rollout importance weights (when on)
  // Micro-batches of the first epoch: their count, their sequences' own tokens (prompt + answer)
  // and the tokens they computed (rows x the longest): the padding is the difference.
  double micro_batches = 0;
  double sequence_tokens = 0;
  double padded_tokens = 0;
  double grad_norm = 0;      // of the last optimizer step (global)
  int64_t optimizer_steps = 0;
  int64_t skipped_steps = 0;  // optimizer steps not taken: a NaN/inf loss or gradient on some rank
  double forward_backward_s = 0;
  double optimizer_s = 0;  // all-reduce, clipping and the AdamW step
};

// Log-probs of each response under `model`, without grad, `micro` sequences per forward (or
// micro-batches of at most `max_tokens` padded tokens, micro_batches.h): result[i] is [L_i]
// float32 (on the CPU). chunk_tokens: forward_logprobs' (0 = all at once).
std::vector<at::Tensor> response_logprobs(policy::Qwen3VLImpl& model, const std::vector<SequenceRef>& sequences,
                                          int64_t micro, double temperature, int64_t pad_token_id,
                                          int64_t chunk_tokens = 0, int64_t max_tokens = 0);

// Prompt + response tokens of each sequence (what a micro-batch pads to its longest).
std::vector<int64_t> sequence_lengths(const std::vector<SequenceRef>& sequences);

// One mini-batch on this rank: grads zeroed, then every micro-batch's forward and backward,
// accumulated in `gradients`' dtype; not yet reduced across ranks. `mb`: this rank's sequences
// of the global mini-batch (possibly none; every rank calls it, it all-reduces the counts).
// Returns this rank's share of the mini-batch loss (the sum over ranks is the loss). `stats`:
// where the first epoch's sums go, or null.
double minibatch_gradients(policy::Qwen3VLImpl& model, GradientBuckets& gradients, Communicator& comm,
                           const std::vector<const UpdateSequence*>& mb, const UpdateOptions& options,
                           UpdateStats* stats);

// minibatches[j]: this rank's sequences of global mini-batch j (every rank passes the same
// number of mini-batches). Losses are normalised by the global token or sequence count of the
// mini-batch, so gradients are summed across ranks.
UpdateStats ppo_update(policy::Qwen3VLImpl& model, ShardedAdamW& optimizer, GradientBuckets& gradients,
                       Communicator& comm, const std::vector<std::vector<const UpdateSequence*>>& minibatches,
                       const UpdateOptions& options, double lr);

}  // namespace visrl::trainer
