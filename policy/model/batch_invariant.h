// Batch-invariant numerics for the rollout engine (rollout.batch_invariant): a row's results
// must not depend on which other rows share its forward, nor on the number of threads, so
// that a sample comes out bitwise the same with 1 or 32 decode slots and on 1 or 2 ranks (as
// vLLM's batch-invariant mode does it on GPUs).
//
// Why plain ops are not: a matmul's kernel, and so its reduction order, is picked by the row
// count (one row takes a matrix-vector path, few rows split the K reduction across threads),
// and reductions over a single row are split across threads. Here every reduction runs with
// one fixed shape per row or block of rows, inside at::parallel_for, where nested parallelism
// is off (ATen's, and MKL's by a thread-local setting): the order of each sum is then fixed by
// the shapes alone.
//
// The mode is a thread-local switch set by BatchInvariantMode; Linear, RMSNorm, the lm_head
// and the decode attention consult it.
#pragma once

#include <cstdint>
#include <functional>

#include <ATen/ATen.h>

namespace visrl::policy {

bool batch_invariant();  // on for this thread?

class BatchInvariantMode {
 public:
  explicit BatchInvariantMode(bool on);
  ~BatchInvariantMode();
  BatchInvariantMode(const BatchInvariantMode&) = delete;
  BatchInvariantMode& operator=(const BatchInvariantMode&) = delete;

 private:
  bool previous_;
};

// Rows are computed in blocks of this many (the last block zero-padded) and columns in chunks
// of kInvariantColumns: every product is one [16, K] x [K, <=256] matmul, whatever the batch.
constexpr int64_t kInvariantRows = 16;
constexpr int64_t kInvariantColumns = 256;

// x [.., K], weight [N, K], bias [N] or undefined -> [.., N], as at::linear.
at::Tensor invariant_linear(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias);

// Runs fn(i) for i in [0, n) inside at::parallel_for, one index per task: whatever fn does
// on its row runs on one thread, in the same order for any thread count.
void for_each_row(int64_t n, const std::function<void(int64_t)>& fn);

}  // namespace visrl::policy
