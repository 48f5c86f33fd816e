// Data-parallel gradient synchronisation: after every rank's backward pass, sum the gradients
// across ranks and scale them, in flattened buckets (one collective per bucket, never one per
// parameter), as DDP's reducer does but after the whole backward rather than overlapped.
#pragma once

#include <vector>

#include <ATen/ATen.h>

#include "trainer/distributed/communicator.h"
#include "trainer/distributed/flat_buckets.h"

namespace visrl::trainer {

class GradientBuckets {
 public:
  // params: the model's parameters in an order that is the same on every rank; those that do
  // not require grad are left out. Buckets hold at most bucket_mb MiB of one dtype (the
  // parameter's); a parameter bigger than that is split across buckets. Parameters must be
  // contiguous.
  explicit GradientBuckets(std::vector<at::Tensor> params, double bucket_mb = 25.0);

  // grad <- scale * sum over ranks of grad, for every parameter. A parameter without a grad on
  // this rank counts as zeros and receives the reduced grad (it may be non-zero elsewhere).
  // scale = 1/world_size gives the mean; 1 when each rank's loss was already normalised by a
  // global token count. A world of one only scales (an absent grad stays absent).
  void all_reduce(Communicator& comm, double scale);

  size_t num_params() const { return params_.size(); }
  size_t num_buckets() const { return buckets_.size(); }
  int64_t num_elements() const;

 private:
  std::vector<at::Tensor> params_;
  std::vector<FlatBucket> buckets_;
};

}  // namespace visrl::trainer
