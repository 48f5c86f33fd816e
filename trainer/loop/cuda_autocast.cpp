#include "trainer/loop/cuda_autocast.h"

#include <ATen/autocast_mode.h>

namespace visrl::trainer {

CudaAutocast::CudaAutocast(const at::Device& device, at::ScalarType model_dtype)
    : active_(device.is_cuda() && model_dtype == at::kFloat) {
  if (!active_) return;
  was_enabled_ = at::autocast::is_autocast_enabled(at::kCUDA);
  previous_dtype_ = at::autocast::get_autocast_dtype(at::kCUDA);
  at::autocast::set_autocast_enabled(at::kCUDA, true);
  at::autocast::set_autocast_dtype(at::kCUDA, at::kBFloat16);
}

CudaAutocast::~CudaAutocast() {
  if (!active_) return;
  at::autocast::set_autocast_enabled(at::kCUDA, was_enabled_);
  at::autocast::set_autocast_dtype(at::kCUDA, previous_dtype_);
  // As torch.autocast's __exit__: drop the casted-weight cache of this region.
  if (!was_enabled_) at::autocast::clear_cache();
}

}  // namespace visrl::trainer
