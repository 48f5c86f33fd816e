// Batch-invariant primitives (policy/model/batch_invariant.h): a row's result is bitwise the
// same whatever rows share the call and however many threads run it.
#include <ATen/Parallel.h>
#include <c10/core/InferenceMode.h>
#include <gtest/gtest.h>

#include "policy/model/batch_invariant.h"
#include "policy/model/text_decoder.h"

namespace visrl::test {
namespace {

using namespace visrl::policy;

// f(rows) for rows [M, K] -> [M, N]: row 0 over several batch sizes and thread counts.
template <typename F>
void expect_row_invariant(const at::Tensor& x, F f, const std::string& what) {
  const int threads = at::get_num_threads();
  const auto reference = f(x.narrow(0, 0, 1));
  for (int t : {1, 2}) {
    at::set_num_threads(t);
    for (int64_t M : {2, 3, 16, 17, 40}) {
      auto rows = x.narrow(0, 0, M);
      EXPECT_TRUE(at::equal(f(rows).narrow(0, 0, 1), reference)) << what << ": " << M << " rows, " << t << " threads";
      // Row 0 placed last among others.
      auto moved = at::cat({x.narrow(0, 1, M - 1), x.narrow(0, 0, 1)});
      EXPECT_TRUE(at::equal(f(moved).narrow(0, M - 1, 1), reference))
          << what << ": last of " << M << ", " << t << " threads";
    }
  }
  at::set_num_threads(threads);
}

TEST(BatchInvariant, LinearRowsDoNotDependOnTheBatchOrThreads) {
  at::manual_seed(0);
  for (auto [K, N] : {std::pair<int64_t, int64_t>{64, 200}, {2048, 1024}, {1024, 3000}}) {
    auto w = at::randn({N, K}), b = at::randn({N}), x = at::randn({40, K});
    expect_row_invariant(
        x, [&](const at::Tensor& rows) { return invariant_linear(rows, w, b); },
        "linear " + std::to_string(K) + "x" + std::to_string(N));
    // And it is a linear layer.
    EXPECT_TRUE(at::allclose(invariant_linear(x, w, b), at::linear(x, w, b), 1e-4, 1e-4));
  }
}

TEST(BatchInvariant, ModulesUseItOnlyInTheMode) {
  at::manual_seed(0);
  c10::InferenceMode inference;
  Linear linear(2048, 512, false);
  linear->weight.normal_();
  RMSNorm norm(2048, 1e-6);
  norm->weight.normal_();
  auto x = at::randn({40, 2048});
  {
    BatchInvariantMode on(true);
    expect_row_invariant(
        x, [&](const at::Tensor& rows) { return linear(rows); }, "Linear");
    expect_row_invariant(
        x, [&](const at::Tensor& rows) { return norm(rows); }, "RMSNorm");
    expect_row_invariant(
        x, [&](const at::Tensor& rows) { return at::softmax(norm(rows), -1); }, "softmax");
  }
  EXPECT_FALSE(batch_invariant());
}

}  // namespace
}  // namespace visrl::test
