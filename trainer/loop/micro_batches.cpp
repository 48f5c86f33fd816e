#include "trainer/loop/micro_batches.h"

#include <algorithm>
#include <numeric>

#include "core/error.h"

namespace visrl::trainer {

MicroBatchPlan plan_micro_batches(const std::vector<int64_t>& lengths, int64_t micro_batch_size, int64_t max_tokens) {
  if (micro_batch_size < 1)
    fail(ErrorKind::config, "algorithm.micro_batch_size must be >= 1, got {}", micro_batch_size);
  if (max_tokens < 0) {
    fail(ErrorKind::config, "algorithm.max_tokens_per_micro_batch must be >= 0 (0 = off), got {}", max_tokens);
  }
  MicroBatchPlan plan;
  std::vector<size_t> order(lengths.size());
  std::iota(order.begin(), order.end(), size_t{0});
  if (max_tokens == 0) {
    for (size_t first = 0; first < order.size(); first += static_cast<size_t>(micro_batch_size)) {
      const auto last = std::min(order.size(), first + static_cast<size_t>(micro_batch_size));
      plan.batches.emplace_back(order.begin() + static_cast<std::ptrdiff_t>(first),
                                order.begin() + static_cast<std::ptrdiff_t>(last));
    }
  } else {
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return lengths[a] > lengths[b]; });
    for (size_t i = 0; i < order.size();) {
      const int64_t longest = lengths[order[i]];  // the batch's first is its longest
      std::vector<size_t> batch{order[i++]};
      int64_t own = longest;  // the batch's own tokens
      const auto fits = [&](int64_t next) {
        const auto padded = (static_cast<int64_t>(batch.size()) + 1) * longest;
        return padded <= max_tokens &&
               static_cast<double>(padded - own - next) <= kMaxPaddingShare * static_cast<double>(padded);
      };
      while (i < order.size() && fits(lengths[order[i]])) {
        own += lengths[order[i]];
        batch.push_back(order[i++]);
      }
      plan.batches.push_back(std::move(batch));
    }
  }
  for (const auto& batch : plan.batches) {
    int64_t longest = 0;
    for (size_t i : batch) {
      plan.tokens += lengths[i];
      longest = std::max(longest, lengths[i]);
    }
    plan.padded_tokens += longest * static_cast<int64_t>(batch.size());
  }
  return plan;
}

}  // namespace visrl::trainer
