// The decode-step linear (policy/model/decode_linear.h): oneDNN's matmul for few float32 rows
// equals at::linear, and it stays out of training, of many rows and of small weights.
#include <c10/core/InferenceMode.h>
#include <gtest/gtest.h>

#include "policy/model/decode_linear.h"
#include "policy/model/linear.h"

namespace visrl::test {
namespace {

using namespace visrl::policy;

TEST(DecodeLinear, EqualsAtLinearForTheRowsOfADecodeStep) {
  at::manual_seed(0);
  c10::InferenceMode inference;
  auto w = at::randn({1024, 2048}), b = at::randn({1024});
  for (int64_t rows : {1, 3, 8, 16}) {
    auto x = at::randn({rows, 1, 2048});
    const auto got = decode_linear(x, w, b);
    if (!got) GTEST_SKIP() << "this LibTorch has no oneDNN linear";
    const auto want = at::linear(x, w, b);
    ASSERT_EQ(got->sizes(), want.sizes());
    EXPECT_LT((*got - want).abs().max().item<double>(), 1e-4 * want.abs().max().item<double>()) << rows << " rows";
  }
  EXPECT_FALSE(decode_linear(at::randn({17, 2048}), w, b)) << "more rows than a decode step";
  EXPECT_FALSE(decode_linear(at::randn({8, 64}), at::randn({64, 64}), {})) << "a weight that stays in cache";
  EXPECT_FALSE(decode_linear(at::randn({8, 2048}).to(at::kBFloat16), w.to(at::kBFloat16), {})) << "bfloat16";
}

TEST(DecodeLinear, StaysOutOfAutograd) {
  Linear linear(2048, 1024, false);
  {
    at::NoGradGuard no_grad;
    linear->weight.normal_();
  }
  auto x = at::randn({8, 2048});
  EXPECT_FALSE(decode_linear(x, linear->weight, {})) << "a weight that requires grad, grad mode on";
  auto y = linear(x);
  y.sum().backward();  // the at::linear path: gradients flow
  EXPECT_TRUE(linear->weight.grad().defined());
}

}  // namespace
}  // namespace visrl::test
