#include "policy/model/decode_linear.h"

#include <ATen/Context.h>
#include <ATen/core/dispatch/Dispatcher.h>

namespace visrl::policy {
namespace {

using PointwiseFn = at::Tensor(const at::Tensor&, const at::Tensor&, const std::optional<at::Tensor>&, c10::string_view,
                               c10::List<std::optional<at::Scalar>>, std::optional<c10::string_view>);

// mkldnn::_linear_pointwise(X, W, B?, attr, scalars, algorithm), looked up once; nullopt where
// this LibTorch has no oneDNN or no such op.
const std::optional<c10::TypedOperatorHandle<PointwiseFn>>& pointwise_op() {
  static const auto op = []() -> std::optional<c10::TypedOperatorHandle<PointwiseFn>> {
    if (!at::hasMKLDNN()) return std::nullopt;
    auto handle = c10::Dispatcher::singleton().findSchema({"mkldnn::_linear_pointwise", ""});
    if (!handle) return std::nullopt;
    return handle->typed<PointwiseFn>();
  }();
  return op;
}

}  // namespace

std::optional<at::Tensor> decode_linear(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias) {
  if (!x.device().is_cpu() || x.scalar_type() != at::kFloat || weight.scalar_type() != at::kFloat) return std::nullopt;
  if (weight.dim() != 2 || weight.numel() < kDecodeLinearMinWeight || x.size(-1) != weight.size(1)) return std::nullopt;
  if (x.numel() / weight.size(1) > kDecodeLinearMaxRows) return std::nullopt;
  if (at::GradMode::is_enabled() && (x.requires_grad() || weight.requires_grad())) return std::nullopt;
  const auto& op = pointwise_op();
  if (!op) return std::nullopt;
  auto rows = x.reshape({-1, x.size(-1)}).contiguous();  // [M, K]
  auto y = op->call(rows, weight.contiguous(), bias.defined() ? std::optional<at::Tensor>(bias) : std::nullopt, "none",
                    c10::List<std::optional<at::Scalar>>(), std::nullopt);  // [M, N]
  auto sizes = x.sizes().vec();
  sizes.back() = weight.size(0);
  return y.view(sizes);
}

}  // namespace visrl::policy
