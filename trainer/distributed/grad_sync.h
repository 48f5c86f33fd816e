// Data-parallel gradient synchronisation: after every rank's backward pass, sum the gradients
// across ranks and scale them, in flattened buckets (one collective per bucket, never one per
// parameter), as DDP's reducer does but after the whole backward rather than overlapped.
//
// Gradients of a parameter narrower than the gradient dtype (a bf16 policy, grad_dtype fp32)
// accumulate in an fp32 buffer of their own: accumulate() after every micro-batch's backward
// moves autograd's bf16 grad into it, so that 32 micro-batches do not round 32 times to bf16's
// 8 bits, and the all-reduce sums fp32 (verl/FSDP keep fp32 gradients and reduce in fp32). The
// optimizer then reads the fp32 grad (AdamW and clip_grad_norm accept any dtype). The buffers
// cost 4 bytes per such parameter element (32 GB for an 8B policy, as FSDP's fp32 gradients).
#pragma once

#include <optional>
#include <vector>

#include <ATen/ATen.h>

#include "trainer/distributed/communicator.h"
#include "trainer/distributed/flat_buckets.h"

namespace visrl::trainer {

class GradientBuckets {
 public:
  // params: the model's parameters in an order that is the same on every rank; those that do
  // not require grad are left out. Buckets hold at most bucket_mb MiB of one dtype (the
  // gradient's); a parameter bigger than that is split across buckets. Parameters must be
  // contiguous. grad_dtype: the dtype gradients accumulate and are reduced in (float32); a
  // parameter of fewer bits gets an accumulator. Unset: each parameter's own dtype.
  explicit GradientBuckets(std::vector<at::Tensor> params, double bucket_mb,
                           std::optional<at::ScalarType> grad_dtype = std::nullopt);

  // Before a mini-batch: every grad and accumulator cleared.
  void zero_grad();
  // After each backward: grads of parameters with an accumulator are added into it and cleared.
  void accumulate();

  // grad <- scale * sum over ranks of grad, for every parameter (accumulate() first). A parameter
  // without a grad on this rank counts as zeros and receives the reduced grad (it may be non-zero
  // elsewhere). scale = 1/world_size gives the mean; 1 when each rank's loss was already
  // normalised by a global token count. A world of one only scales (an absent grad stays absent).
  // A parameter with an accumulator ends with the accumulator as its grad (the gradient dtype).
  void all_reduce(Communicator& comm, double scale);
  // A loss that was NaN/inf on this rank: the next all_reduce hands every rank NaN gradients,
  // so that all of them skip the update (the norm is non-finite everywhere). Cleared by
  // zero_grad.
  void mark_nonfinite() { nonfinite_ = true; }

  size_t num_params() const { return params_.size(); }
  size_t num_buckets() const { return buckets_.size(); }
  int64_t num_elements() const;
  // Parameters that accumulate in a wider dtype than their own.
  size_t num_accumulated() const;

 private:
  std::vector<at::Tensor> params_;
  std::vector<at::Tensor> accumulators_;  // per parameter: [param shape] in grad_dtype, or undefined
  std::vector<bool> touched_;             // per parameter: a grad was accumulated since zero_grad
  std::vector<FlatBucket> buckets_;
  bool nonfinite_ = false;
};

}  // namespace visrl::trainer
