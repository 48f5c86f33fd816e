#include "trainer/algorithms/advantage.h"

namespace visrl::trainer {

namespace {

struct GroupStats {
  at::Tensor count;  // [N] size of each answer's group
  at::Tensor mean;   // [N] mean reward of each answer's group
  at::Tensor var;    // [N] unbiased variance (0 for groups of one)
};

// Per-answer statistics of its group, gathered back to [N].
GroupStats group_stats(const at::Tensor& rewards, const at::Tensor& group_ids) {
  TORCH_CHECK(rewards.dim() == 1 && group_ids.dim() == 1 && rewards.size(0) == group_ids.size(0),
              "rewards and group_ids must be [N]");
  const at::Tensor r = rewards.to(at::kDouble);  // sums in double: rewards of 1e4 answers
  const at::Tensor ids = group_ids.to(at::kLong);
  const int64_t groups = ids.numel() ? ids.max().item<int64_t>() + 1 : 0;
  at::Tensor count = at::zeros({groups}, r.options()).index_add_(0, ids, at::ones_like(r));
  at::Tensor sum = at::zeros({groups}, r.options()).index_add_(0, ids, r);
  at::Tensor mean = (sum / count.clamp_min(1)).index_select(0, ids);  // [N]
  at::Tensor sq = at::zeros({groups}, r.options()).index_add_(0, ids, (r - mean).pow(2));
  at::Tensor n = count.index_select(0, ids);
  at::Tensor var = sq.index_select(0, ids) / (n - 1).clamp_min(1);
  return {n, mean, var};
}

}  // namespace

at::Tensor grpo_advantages(const at::Tensor& rewards, const at::Tensor& group_ids, double eps) {
  GroupStats g = group_stats(rewards, group_ids);
  const at::Tensor single = g.count == 1;
  at::Tensor mean = at::where(single, at::zeros_like(g.mean), g.mean);
  at::Tensor std = at::where(single, at::ones_like(g.var), g.var.sqrt());
  return ((rewards.to(at::kDouble) - mean) / (std + eps)).to(rewards.scalar_type());
}

at::Tensor dr_grpo_advantages(const at::Tensor& rewards, const at::Tensor& group_ids) {
  GroupStats g = group_stats(rewards, group_ids);
  at::Tensor mean = at::where(g.count == 1, at::zeros_like(g.mean), g.mean);
  return (rewards.to(at::kDouble) - mean).to(rewards.scalar_type());
}

at::Tensor rloo_advantages(const at::Tensor& rewards, const at::Tensor& group_ids) {
  GroupStats g = group_stats(rewards, group_ids);
  const at::Tensor r = rewards.to(at::kDouble);
  at::Tensor scale = g.count / (g.count - 1).clamp_min(1);
  return at::where(g.count == 1, r, scale * (r - g.mean)).to(rewards.scalar_type());
}

at::Tensor reinforce_pp_advantages(const at::Tensor& rewards, const at::Tensor& group_ids, const at::Tensor& lengths) {
  TORCH_CHECK(lengths.dim() == 1 && lengths.size(0) == rewards.size(0), "lengths must be [N]");
  GroupStats g = group_stats(rewards, group_ids);
  const at::Tensor mean_g = at::where(g.count == 1, at::zeros_like(g.mean), g.mean);
  const at::Tensor x = rewards.to(at::kDouble) - mean_g;  // [N]
  const at::Tensor w = lengths.to(at::kDouble);           // [N] tokens per answer
  const at::Tensor tokens = w.sum();
  const at::Tensor mean = (w * x).sum() / tokens.clamp_min(1);
  const at::Tensor var = (w * (x - mean).pow(2)).sum() / (tokens - 1).clamp_min(1);
  return ((x - mean) * (var + 1e-8).rsqrt()).to(rewards.scalar_type());
}

}  // namespace visrl::trainer
