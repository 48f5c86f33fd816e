// Group-relative advantage estimators: pure functions over sequence-level rewards
// (REFERENCE.md section 9, verl's core_algos names).
//
//   rewards   [N] float   one scalar reward per sampled answer
//   group_ids [N] int64   0..num_groups-1: answers to the same prompt share an id
//   returns   [N] float   one advantage per answer (broadcast over its tokens by the loss)
#pragma once

#include <ATen/ATen.h>

namespace visrl::trainer {

// GRPO: A = (r - mean_group) / (std_group + eps), std unbiased (n - 1). A group of one
// answer has mean 0 and std 1, as in verl.
at::Tensor grpo_advantages(const at::Tensor& rewards, const at::Tensor& group_ids, double eps);

// Dr. GRPO: A = r - mean_group (no division by the std).
at::Tensor dr_grpo_advantages(const at::Tensor& rewards, const at::Tensor& group_ids);

// RLOO: A = r - mean of the other answers of the group = n/(n-1) (r - mean_group). A group
// of one keeps its reward, as in verl.
at::Tensor rloo_advantages(const at::Tensor& rewards, const at::Tensor& group_ids);

// REINFORCE++ with a group baseline (verl's reinforce_plus_plus_baseline): r - mean_group,
// then whitened over the batch's response tokens: every answer weighs as many tokens as it
// has, variance unbiased over tokens, A = (x - mean) / sqrt(var + 1e-8).
// lengths [N]: response lengths in tokens.
at::Tensor reinforce_pp_advantages(const at::Tensor& rewards, const at::Tensor& group_ids, const at::Tensor& lengths);

}  // namespace visrl::trainer
