// AdamW as pure tensor functions, exactly as torch.optim.AdamW (amsgrad off, maximize off):
// decoupled weight decay, bias correction, eps outside the square root. And global gradient-norm
// clipping as torch.nn.utils.clip_grad_norm_.
#pragma once

#include <cstdint>
#include <vector>

#include <ATen/ATen.h>

namespace visrl::trainer {

// One AdamW step for one tensor, in place on param, exp_avg and exp_avg_sq (all of the same
// shape, dtype and device; grad is converted to their dtype). `step` is the step number
// counting this one (1 on the first update):
//   param      *= 1 - lr * weight_decay
//   exp_avg     = beta1 * exp_avg + (1 - beta1) * grad
//   exp_avg_sq  = beta2 * exp_avg_sq + (1 - beta2) * grad^2
//   param      -= lr / (1 - beta1^step) * exp_avg / (sqrt(exp_avg_sq) / sqrt(1 - beta2^step) + eps)
void adamw_update(at::Tensor& param, const at::Tensor& grad, at::Tensor& exp_avg, at::Tensor& exp_avg_sq, int64_t step,
                  double lr, double beta1, double beta2, double eps, double weight_decay);

// The global L2 norm over the grads of `params` (params without a grad are skipped), summed in
// float64; when max_norm > 0 and the norm exceeds it, every grad is multiplied by
// max_norm / (norm + 1e-6), as torch.nn.utils.clip_grad_norm_. max_norm = 0: no clipping, the
// norm is still returned. A non-finite norm is returned without touching the grads (torch would
// turn them all into NaN); the caller should skip the step. After GradientBuckets::all_reduce
// the grads are identical on every rank, so is the norm: no communication is needed.
double clip_grad_norm(const std::vector<at::Tensor>& params, double max_norm);

}  // namespace visrl::trainer
