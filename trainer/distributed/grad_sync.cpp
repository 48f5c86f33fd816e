#include "trainer/distributed/grad_sync.h"

#include <cmath>

#include <c10/core/GradMode.h>

#include "core/error.h"

namespace visrl::trainer {

GradientBuckets::GradientBuckets(std::vector<at::Tensor> params, double bucket_mb) {
  if (!(bucket_mb > 0)) fail(ErrorKind::config, "gradient bucket size {} MiB: expected a number > 0", bucket_mb);
  for (at::Tensor& p : params) {
    if (!p.requires_grad()) continue;
    if (!p.is_contiguous())
      fail(ErrorKind::runtime, "GradientBuckets: parameter {} of shape [{}] is not contiguous", params_.size(),
           fmt::join(p.sizes(), ", "));
    params_.push_back(p);
  }
  buckets_ = plan_flat_buckets(params_, static_cast<int64_t>(std::llround(bucket_mb * 1024 * 1024)));
}

int64_t GradientBuckets::num_elements() const {
  int64_t n = 0;
  for (const FlatBucket& b : buckets_) n += b.numel;
  return n;
}

void GradientBuckets::all_reduce(Communicator& comm, double scale) {
  c10::AutoGradMode no_grad(false);
  if (comm.world_size() == 1) {
    if (scale == 1.0) return;
    for (at::Tensor& p : params_) {
      if (p.grad().defined()) p.mutable_grad().mul_(scale);
    }
    return;
  }
  // Every parameter gets a contiguous grad to receive the reduced values.
  std::vector<at::Tensor> grads;
  grads.reserve(params_.size());
  for (at::Tensor& p : params_) {
    at::Tensor& g = p.mutable_grad();
    if (!g.defined())
      g = at::zeros_like(p, at::MemoryFormat::Contiguous);
    else if (!g.is_contiguous())
      g = g.contiguous();
    grads.push_back(g);
  }
  for (const FlatBucket& bucket : buckets_) {
    std::vector<at::Tensor> buffer{pack_bucket(bucket, grads)};  // [bucket.numel], param dtype
    comm.all_reduce(buffer, ReduceOp::sum);
    if (scale != 1.0) buffer[0].mul_(scale);
    unpack_bucket(bucket, buffer[0], grads);
  }
}

}  // namespace visrl::trainer
