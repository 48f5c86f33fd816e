// Reward shaping and group filtering of DAPO (Yu et al. 2025), as pure functions.
//
//   lengths   [N] int64/float  response lengths in tokens
//   rewards   [N] float, group_ids [N] int64 (as in advantage.h)
#pragma once

#include <ATen/ATen.h>

namespace visrl::trainer {

// Soft overlong punishment: 0 up to max_len - buffer tokens, then falling linearly to
// -penalty at max_len, and -penalty beyond. buffer = 0 turns it off (all zeros).
at::Tensor overlong_penalty(const at::Tensor& lengths, int64_t max_len, int64_t buffer, double penalty);

// Dynamic sampling: [N] bool, true for the answers of groups whose rewards are not all equal
// (|max - min| > tol). A group of equal rewards has zero advantages and teaches nothing.
at::Tensor informative_groups(const at::Tensor& rewards, const at::Tensor& group_ids, double tol = 0.0);

}  // namespace visrl::trainer
