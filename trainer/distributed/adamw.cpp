#include "trainer/distributed/adamw.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include <c10/core/GradMode.h>

namespace visrl::trainer {

void adamw_update(at::Tensor& param, const at::Tensor& grad, at::Tensor& exp_avg, at::Tensor& exp_avg_sq, int64_t step,
                  double lr, double beta1, double beta2, double eps, double weight_decay) {
  c10::AutoGradMode no_grad(false);
  const at::Tensor g = grad.to(exp_avg.scalar_type());
  if (weight_decay != 0) param.mul_(1.0 - lr * weight_decay);
  exp_avg.lerp_(g, 1.0 - beta1);
  exp_avg_sq.mul_(beta2).addcmul_(g, g, 1.0 - beta2);
  const double bias_correction1 = 1.0 - std::pow(beta1, static_cast<double>(step));
  const double bias_correction2 = 1.0 - std::pow(beta2, static_cast<double>(step));
  const double step_size = lr / bias_correction1;
  at::Tensor denom = (exp_avg_sq.sqrt() / std::sqrt(bias_correction2)).add_(eps);
  param.addcdiv_(exp_avg, denom, -step_size);
}

double clip_grad_norm(const std::vector<at::Tensor>& params, double max_norm) {
  c10::AutoGradMode no_grad(false);
  // Chunks of at most 16M elements bound the float64 temporaries (a 600M-element embedding
  // grad would otherwise need 4.8 GB as doubles).
  constexpr int64_t kChunk = int64_t{1} << 24;
  std::vector<std::pair<at::Device, at::Tensor>> sums;  // [] float64 sum of squares per device
  std::vector<at::Tensor> grads;
  for (const at::Tensor& p : params) {
    const at::Tensor& g = p.grad();
    if (!g.defined()) continue;
    grads.push_back(g);
    auto it = std::find_if(sums.begin(), sums.end(), [&](const auto& s) { return s.first == g.device(); });
    if (it == sums.end()) {
      sums.emplace_back(g.device(), at::zeros({}, at::TensorOptions().dtype(at::kDouble).device(g.device())));
      it = sums.end() - 1;
    }
    for (const at::Tensor& chunk : g.reshape({-1}).split(kChunk)) {
      it->second.add_(at::linalg_vector_norm(chunk, 2, std::nullopt, false, at::kDouble).square());
    }
  }
  if (grads.empty()) return 0.0;
  double sum_of_squares = 0;
  for (const auto& [device, sum] : sums) sum_of_squares += sum.item<double>();  // one sync per device
  const double total = std::sqrt(sum_of_squares);
  if (max_norm > 0 && std::isfinite(total)) {
    const double coef = max_norm / (total + 1e-6);
    if (coef < 1.0) {
      for (at::Tensor& g : grads) g.mul_(coef);
    }
  }
  return total;
}

}  // namespace visrl::trainer
