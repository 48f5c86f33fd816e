// bf16 autocast for the training forwards of a float32 policy on CUDA (mixed precision:
// float32 weights and optimizer, bf16 matmuls), as torch.autocast("cuda", torch.bfloat16).
// A no-op on the CPU and for a policy already in bf16 (model.dtype auto on CUDA).
#pragma once

#include <ATen/ATen.h>

namespace visrl::trainer {

class CudaAutocast {
 public:
  CudaAutocast(const at::Device& device, at::ScalarType model_dtype);
  ~CudaAutocast();
  CudaAutocast(const CudaAutocast&) = delete;
  CudaAutocast& operator=(const CudaAutocast&) = delete;
  bool active() const { return active_; }

 private:
  bool active_ = false;
  bool was_enabled_ = false;
  at::ScalarType previous_dtype_ = at::kHalf;
};

}  // namespace visrl::trainer
