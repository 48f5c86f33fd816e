#include "trainer/algorithms/shaping.h"

#include <limits>

namespace visrl::trainer {

at::Tensor overlong_penalty(const at::Tensor& lengths, int64_t max_len, int64_t buffer, double penalty) {
  const at::Tensor len = lengths.to(at::kDouble);
  if (buffer <= 0) return at::zeros_like(len);
  const double start = static_cast<double>(max_len - buffer);
  // (start - L) / buffer * penalty inside the buffer: 0 at its start, -penalty at max_len.
  return ((start - len) / static_cast<double>(buffer) * penalty).clamp(-penalty, 0.0);
}

at::Tensor informative_groups(const at::Tensor& rewards, const at::Tensor& group_ids, double tol) {
  TORCH_CHECK(rewards.dim() == 1 && rewards.sizes() == group_ids.sizes(), "rewards and group_ids must be [N]");
  const at::Tensor r = rewards.to(at::kDouble);
  const at::Tensor ids = group_ids.to(at::kLong);
  const int64_t groups = ids.numel() ? ids.max().item<int64_t>() + 1 : 0;
  const double inf = std::numeric_limits<double>::infinity();
  at::Tensor hi = at::full({groups}, -inf, r.options()).scatter_reduce(0, ids, r, "amax");
  at::Tensor lo = at::full({groups}, inf, r.options()).scatter_reduce(0, ids, r, "amin");
  return ((hi - lo) > tol).index_select(0, ids);
}

}  // namespace visrl::trainer
