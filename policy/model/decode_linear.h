// A linear layer for the few rows of a decode step (one per running sample), float32 on the
// CPU. At real size a decode step reads every weight once, so it costs the weights' bytes over
// the memory bandwidth; MKL's sgemm, which at::linear calls, streams a weight against 8 rows
// at about 9 GB/s on a machine whose plain sum reads 25 GB/s, and oneDNN's matmul (the kernel
// PyTorch's inductor calls, mkldnn::_linear_pointwise) at about 17
// (bench/real_size/decode_profile.cpp). bfloat16 already takes oneDNN through at::linear.
#pragma once

#include <optional>

#include <ATen/ATen.h>

namespace visrl::policy {

// Rows up to which a linear takes this path, and the smallest weight (elements): below it the
// weight stays in cache and at::linear is as fast.
constexpr int64_t kDecodeLinearMaxRows = 16;
constexpr int64_t kDecodeLinearMinWeight = int64_t{1} << 20;

// at::linear(x, weight, bias) through oneDNN when it applies (x and weight float32 on the CPU,
// at most kDecodeLinearMaxRows rows, a weight of kDecodeLinearMinWeight elements or more, no
// autograd, LibTorch built with oneDNN); nullopt otherwise. x [.., K] -> [.., N].
std::optional<at::Tensor> decode_linear(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias);

}  // namespace visrl::policy
