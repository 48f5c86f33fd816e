// The policy update of one step: PPO epochs over mini-batches, micro-batch gradient
// accumulation, data-parallel gradient all-reduce, clipping and the (sharded) AdamW step.
// Orchestration only: the losses, KL and aggregation are the pure functions of
// trainer/algorithms.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "policy/model/qwen3vl.h"
#include "trainer/algorithms/kl.h"
#include "trainer/algorithms/loss_agg.h"
#include "trainer/algorithms/policy_loss.h"
#include "trainer/distributed/communicator.h"
#include "trainer/distributed/grad_sync.h"
#include "trainer/distributed/sharded_adamw.h"
#include "trainer/loop/sequence_batch.h"

namespace visrl::trainer {

struct UpdateSequence {
  SequenceRef ref;
  double advantage = 0;
  at::Tensor old_logp;  // [L] float32; undefined = on-policy (the current log-probs, detached)
  at::Tensor ref_logp;  // [L] float32; undefined = no KL loss
};

struct UpdateOptions {
  int64_t micro_batch_size = 1;
  int64_t ppo_epochs = 1;
  std::string policy_loss = "ppo_clip";  // ppo_clip | gspo
  ClipConfig clip;
  LossAgg loss_agg = LossAgg::token_mean;
  double norm_constant = 1.0;  // seq-mean-token-sum-norm
  double kl_coef = 0;          // KL loss weight (0: no KL term)
  KlEstimator kl_estimator = KlEstimator::k3;
  double entropy_coef = 0;
  double temperature = 1.0;  // the sampler's: log-probs are of logits / temperature
  double grad_clip = 0;      // max global grad norm; 0 = no clipping
  int64_t pad_token_id = 0;
};

// Sums over this rank's response tokens (and counts), reduced across ranks by the caller.
struct UpdateStats {
  double tokens = 0;
  double pg_loss_sum = 0;  // per-token policy loss
  double entropy_sum = 0;
  double kl_sum = 0;      // per-token KL to the reference (when ref_logp is set)
  double ppo_kl_sum = 0;  // old_logp - logp
  double clipped = 0;
  double dual_clipped = 0;
  double grad_norm = 0;  // of the last optimizer step (global)
  int64_t optimizer_steps = 0;
  double forward_backward_s = 0;
  double optimizer_s = 0;  // all-reduce, clipping and the AdamW step
};

// Log-probs of each response under `model`, without grad, `micro` sequences per forward:
// result[i] is [L_i] float32 (on the CPU).
std::vector<at::Tensor> response_logprobs(policy::Qwen3VLImpl& model, const std::vector<SequenceRef>& sequences,
                                          int64_t micro, double temperature, int64_t pad_token_id);

// minibatches[j]: this rank's sequences of global mini-batch j (possibly none; every rank
// passes the same number of mini-batches). Losses are normalised by the global token or
// sequence count of the mini-batch, so gradients are summed across ranks.
UpdateStats ppo_update(policy::Qwen3VLImpl& model, ShardedAdamW& optimizer, GradientBuckets& gradients,
                       Communicator& comm, const std::vector<std::vector<const UpdateSequence*>>& minibatches,
                       const UpdateOptions& options, double lr);

}  // namespace visrl::trainer
