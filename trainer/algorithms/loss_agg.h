// From per-token losses to one number, in verl's four modes (REFERENCE.md section 9).
//
//   loss [B, T] float   per-token loss
//   mask [B, T] bool/float  1 on response tokens
#pragma once

#include <optional>
#include <string_view>

#include <ATen/ATen.h>

namespace visrl::trainer {

enum class LossAgg {
  token_mean,               // sum over all tokens / token count (the global count when given)
  seq_mean_token_sum,       // mean over sequences of each sequence's token sum
  seq_mean_token_mean,      // mean over sequences of each sequence's token mean
  seq_mean_token_sum_norm,  // sum of sequence token sums / a constant (Dr. GRPO: max response length)
};

// "token-mean", "seq-mean-token-sum", "seq-mean-token-mean", "seq-mean-token-sum-norm";
// throws Error(config) for another name.
LossAgg parse_loss_agg(std::string_view name);

struct AggOptions {
  // token-mean: divide by this many tokens instead of mask.sum() (data parallel: the token
  // count of the whole global mini-batch, reduced across ranks; micro-batches then sum).
  std::optional<double> global_tokens;
  // seq-mean-*: divide by this many sequences instead of B (the global sequence count).
  std::optional<double> global_sequences;
  double norm_constant = 1.0;  // seq-mean-token-sum-norm divisor
};

at::Tensor aggregate_loss(const at::Tensor& loss, const at::Tensor& mask, LossAgg mode, const AggOptions& options = {});

}  // namespace visrl::trainer
