// From per-token losses to one number, in verl's four modes (REFERENCE.md section 9), with the
// global-batch normalisation of verl's model engine: each micro-batch on each rank divides by
// the token or sequence count of the whole global mini-batch, so that summing the micro-batch
// losses (and the gradients across ranks) gives the mini-batch's loss, whatever the world size
// and micro-batch size.
//
//   loss [B, T] float   per-token loss
//   mask [B, T] bool/float  1 on response tokens
#pragma once

#include <optional>

#include <ATen/ATen.h>

#include "core/algorithm_choice.h"

namespace visrl::trainer {

struct AggOptions {
  // token-mean: divide by this many tokens instead of mask.sum() (the global mini-batch's token
  // count, reduced across ranks).
  std::optional<double> global_tokens;
  // seq-mean-*: divide by this many sequences instead of B (the global sequence count).
  std::optional<double> global_sequences;
  double norm_constant = 1.0;  // seq-mean-token-sum-norm's C (Dr. GRPO: the maximal response length)
};

//   token-mean               sum over tokens / tokens
//   seq-mean-token-sum       sum over sequences of their token sums / sequences
//   seq-mean-token-mean      sum over sequences of their token means / sequences
//   seq-mean-token-sum-norm  sum over tokens / (sequences * C): Dr. GRPO's (1/G) sum_i sum_t / C,
//                            what verl's actor computes at micro-batch 1 (the paper's recipe).
//                            verl's agg_loss alone leaves out 1/sequences, so that its gradient
//                            grows with the micro-batch size (legacy actor) or shrinks with the
//                            world size (model engine); this one does neither.
at::Tensor aggregate_loss(const at::Tensor& loss, const at::Tensor& mask, LossAgg mode, const AggOptions& options = {});

}  // namespace visrl::trainer
