// How one rank's share of a mini-batch is cut into micro-batches (one forward/backward each):
// a fixed number of sequences (algorithm.micro_batch_size), or a token budget
// (algorithm.max_tokens_per_micro_batch, verl's dynamic batch size): sequences sorted by
// length, longest first, so each micro-batch holds similar lengths and pads little. The loss
// is normalised by global counts (loss_agg.h), so any cut gives the same update.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace visrl::trainer {

struct MicroBatchPlan {
  std::vector<std::vector<size_t>> batches;  // indices into the sequences, each batch longest first
  int64_t tokens = 0;                        // the sequences' own tokens (prompt + answer)
  int64_t padded_tokens = 0;                 // sum over batches of rows x the batch's longest
};

// A token-budget micro-batch closes before more than this share of its positions would be
// padding: with long-tailed lengths, a budget alone would pack a 500-token answer with
// 100-token ones.
constexpr double kMaxPaddingShare = 0.1;

// lengths[i]: sequence i's prompt + answer tokens. max_tokens == 0: consecutive groups of
// micro_batch_size in the given order. Otherwise a batch takes the longest sequences left
// while (rows + 1) x its longest <= max_tokens and at most kMaxPaddingShare of its positions
// are padding; a sequence longer than the budget goes alone.
MicroBatchPlan plan_micro_batches(const std::vector<int64_t>& lengths, int64_t micro_batch_size, int64_t max_tokens);

}  // namespace visrl::trainer
