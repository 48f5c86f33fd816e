#include "trainer/distributed/grad_sync.h"

#include <cmath>
#include <limits>

#include <c10/core/GradMode.h>

#include "core/error.h"

namespace visrl::trainer {

GradientBuckets::GradientBuckets(std::vector<at::Tensor> params, double bucket_mb,
                                 std::optional<at::ScalarType> grad_dtype) {
  if (!(bucket_mb > 0)) fail(ErrorKind::config, "gradient bucket size {} MiB: expected a number > 0", bucket_mb);
  std::vector<at::Tensor> grads_like;  // what each parameter's reduced grad looks like
  for (at::Tensor& p : params) {
    if (!p.requires_grad()) continue;
    if (!p.is_contiguous())
      fail(ErrorKind::runtime, "GradientBuckets: parameter {} of shape [{}] is not contiguous", params_.size(),
           fmt::join(p.sizes(), ", "));
    params_.push_back(p);
    at::Tensor acc;
    if (grad_dtype && at::elementSize(*grad_dtype) > at::elementSize(p.scalar_type())) {
      acc = at::zeros(p.sizes(), p.options().dtype(*grad_dtype).requires_grad(false));
    }
    accumulators_.push_back(acc);
    grads_like.push_back(acc.defined() ? acc : p);
  }
  touched_.assign(params_.size(), false);
  buckets_ = plan_flat_buckets(grads_like, static_cast<int64_t>(std::llround(bucket_mb * 1024 * 1024)));
}

int64_t GradientBuckets::num_elements() const {
  int64_t n = 0;
  for (const FlatBucket& b : buckets_) n += b.numel;
  return n;
}

size_t GradientBuckets::num_accumulated() const {
  size_t n = 0;
  for (const auto& a : accumulators_) n += a.defined() ? 1 : 0;
  return n;
}

void GradientBuckets::zero_grad() {
  c10::AutoGradMode no_grad(false);
  for (size_t i = 0; i < params_.size(); ++i) {
    params_[i].mutable_grad() = at::Tensor();
    if (accumulators_[i].defined() && touched_[i]) accumulators_[i].zero_();
    touched_[i] = false;
  }
  nonfinite_ = false;
}

void GradientBuckets::accumulate() {
  c10::AutoGradMode no_grad(false);
  for (size_t i = 0; i < params_.size(); ++i) {
    at::Tensor& acc = accumulators_[i];
    at::Tensor& g = params_[i].mutable_grad();
    if (!acc.defined() || !g.defined() || g.is_same(acc)) continue;
    acc.add_(g);
    g = at::Tensor();
    touched_[i] = true;
  }
}

void GradientBuckets::all_reduce(Communicator& comm, double scale) {
  c10::AutoGradMode no_grad(false);
  accumulate();
  // A parameter with an accumulator hands it over as its grad (absent if it never got one).
  for (size_t i = 0; i < params_.size(); ++i) {
    if (accumulators_[i].defined() && touched_[i]) params_[i].mutable_grad() = accumulators_[i];
  }
  if (comm.world_size() == 1) {
    for (at::Tensor& p : params_) {
      if (!p.grad().defined()) continue;
      if (nonfinite_) p.mutable_grad().fill_(std::numeric_limits<double>::quiet_NaN());
      if (scale != 1.0) p.mutable_grad().mul_(scale);
    }
    return;
  }
  // Every parameter gets a contiguous grad (in its gradient dtype) to receive the reduced values.
  std::vector<at::Tensor> grads;
  grads.reserve(params_.size());
  for (size_t i = 0; i < params_.size(); ++i) {
    at::Tensor& p = params_[i];
    at::Tensor& g = p.mutable_grad();
    if (!g.defined()) {
      if (accumulators_[i].defined()) {
        accumulators_[i].zero_();
        touched_[i] = true;
        g = accumulators_[i];
      } else {
        g = at::zeros_like(p, at::MemoryFormat::Contiguous);
      }
    } else if (!g.is_contiguous()) {
      g = g.contiguous();
    }
    grads.push_back(g);
  }
  for (const FlatBucket& bucket : buckets_) {
    std::vector<at::Tensor> buffer{pack_bucket(bucket, grads)};  // [bucket.numel], gradient dtype
    if (nonfinite_) buffer[0].fill_(std::numeric_limits<double>::quiet_NaN());
    comm.all_reduce(buffer, ReduceOp::sum);
    if (scale != 1.0) buffer[0].mul_(scale);
    unpack_bucket(bucket, buffer[0], grads);
  }
}

}  // namespace visrl::trainer
