// GradientBuckets: bucket planning, and the bucketed all-reduce on two ranks against the
// hand-computed mean.
#include <chrono>

#include <gtest/gtest.h>

#include "tests/support/multiprocess.h"
#include "tests/trainer/distributed/dist_test_util.h"
#include "trainer/distributed/flat_buckets.h"
#include "trainer/distributed/grad_sync.h"

namespace visrl::trainer {
namespace {

using testing::wave;

TEST(FlatBuckets, SplitsBigTensorsAndSeparatesDtypes) {
  // cap 40 bytes = 10 floats = 5 doubles.
  std::vector<at::Tensor> ts = {at::zeros({4}), at::zeros({13}), at::zeros({3}, at::kDouble), at::zeros({2})};
  std::vector<FlatBucket> b = plan_flat_buckets(ts, 40);
  ASSERT_EQ(b.size(), 4u);
  EXPECT_EQ(b[0].numel, 10);  // 4 of tensor 0 + first 6 of tensor 1
  ASSERT_EQ(b[0].segments.size(), 2u);
  EXPECT_EQ(b[0].segments[1].tensor, 1u);
  EXPECT_EQ(b[0].segments[1].numel, 6);
  EXPECT_EQ(b[1].numel, 7);  // the other 7 of tensor 1
  EXPECT_EQ(b[1].segments[0].offset, 6);
  EXPECT_EQ(b[2].dtype, at::kDouble);
  EXPECT_EQ(b[2].numel, 3);
  EXPECT_EQ(b[3].numel, 2);  // float again after the doubles: a new bucket

  std::vector<at::Tensor> values = {wave({4}, 0), wave({13}, 1), wave({3}, 2, at::kDouble), at::Tensor()};
  std::vector<at::Tensor> out = {at::zeros({4}), at::zeros({13}), at::zeros({3}, at::kDouble), at::ones({2})};
  for (const FlatBucket& bucket : b) unpack_bucket(bucket, pack_bucket(bucket, values), out);
  EXPECT_TRUE(at::equal(out[0], values[0]));
  EXPECT_TRUE(at::equal(out[1], values[1]));
  EXPECT_TRUE(at::equal(out[2], values[2]));
  EXPECT_TRUE(at::equal(out[3], at::zeros({2})));  // undefined packs as zeros
}

// Parameters: [1000] f32 (3.8 KiB), [300, 10] f32 (11.7 KiB, bigger than the 10 KiB bucket),
// [7] f32 with no grad anywhere, [5] f32 with a grad on rank 1 only, [50] f64, and a frozen
// [4] that is left out. Rank r's grads are (r + 1) * wave, so the mean is 1.5 * wave.
std::vector<at::Tensor> make_params() {
  std::vector<at::Tensor> params = {at::zeros({1000}), at::zeros({300, 10}),         at::zeros({7}),
                                    at::zeros({5}),    at::zeros({50}, at::kDouble), at::zeros({4})};
  for (size_t i = 0; i + 1 < params.size(); ++i) params[i].set_requires_grad(true);
  return params;
}

TEST(GradientBuckets, MeanOverTwoRanks) {
  if (visrl::test::in_scenario("grad_mean")) {
    auto comm = testing::rank_communicator();
    const double factor = comm->rank() + 1.0;
    std::vector<at::Tensor> params = make_params();
    for (int i : {0, 1, 4}) params[i].mutable_grad() = wave(params[i].sizes(), i, params[i].scalar_type()) * factor;
    if (comm->rank() == 1) params[3].mutable_grad() = wave({5}, 3) * 4.0;

    GradientBuckets buckets(params, 10.0 / 1024);  // 10 KiB
    EXPECT_EQ(buckets.num_params(), 5u);
    EXPECT_EQ(buckets.num_elements(), 1000 + 3000 + 7 + 5 + 50);
    EXPECT_EQ(buckets.num_buckets(), 3u);  // 1000 + 1560 | 1440 + 7 + 5 | 50 f64
    buckets.all_reduce(*comm, 1.0 / comm->world_size());

    for (int i : {0, 1, 4}) {
      EXPECT_TRUE(at::allclose(params[i].grad(), wave(params[i].sizes(), i, params[i].scalar_type()) * 1.5, 1e-6, 1e-7))
          << "param " << i;
    }
    EXPECT_TRUE(at::equal(params[2].grad(), at::zeros({7})));
    EXPECT_TRUE(at::allclose(params[3].grad(), wave({5}, 3) * 2.0));
    EXPECT_FALSE(params[5].grad().defined());
    return;
  }
  auto result = visrl::test::run_ranks(2, "grad_mean", std::chrono::seconds(60));
  EXPECT_TRUE(result.ok()) << result.summary();
}

TEST(GradientBuckets, WorldOfOneOnlyScales) {
  auto comm = testing::single_communicator();
  std::vector<at::Tensor> params = make_params();
  params[0].mutable_grad() = wave({1000}, 0);
  GradientBuckets buckets(params, 10.0 / 1024);
  buckets.all_reduce(*comm, 0.25);
  EXPECT_TRUE(at::allclose(params[0].grad(), wave({1000}, 0) * 0.25));
  EXPECT_FALSE(params[2].grad().defined());
}

}  // namespace
}  // namespace visrl::trainer
