// AdamW against LibTorch's own torch::optim::AdamW, gradient clipping, and ZeRO-1 sharding:
// two ranks with sharded state end where one unsharded process does.
#include <chrono>
#include <cmath>
#include <limits>
#include <set>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <torch/optim/adamw.h>

#include "tests/support/multiprocess.h"
#include "tests/test_util.h"
#include "tests/trainer/distributed/dist_test_util.h"
#include "trainer/distributed/sharded_adamw.h"

namespace visrl::trainer {
namespace {

using testing::wave;

double max_abs_diff(const at::Tensor& a, const at::Tensor& b) {
  return (a.to(at::kDouble) - b.to(at::kDouble)).abs().max().item<double>();
}

TEST(AdamW, UpdateMatchesTorchOptimAdamW) {
  for (at::ScalarType dtype : {at::kDouble, at::kFloat}) {
    at::Tensor reference = wave({6, 5}, 1, dtype).set_requires_grad(true);
    torch::optim::AdamW optimizer(
        {reference}, torch::optim::AdamWOptions(0.05).betas(std::make_tuple(0.8, 0.95)).eps(1e-6).weight_decay(0.1));
    at::Tensor param = wave({6, 5}, 1, dtype);
    at::Tensor exp_avg = at::zeros_like(param);
    at::Tensor exp_avg_sq = at::zeros_like(param);
    for (int step = 1; step <= 5; ++step) {
      at::Tensor grad = wave({6, 5}, 10 + step, dtype) * step;
      reference.mutable_grad() = grad.clone();
      optimizer.step();
      adamw_update(param, grad, exp_avg, exp_avg_sq, step, 0.05, 0.8, 0.95, 1e-6, 0.1);
    }
    const double tolerance = dtype == at::kDouble ? 1e-12 : 1e-6;
    EXPECT_LE(max_abs_diff(param, reference.detach()), tolerance) << c10::toString(dtype);
    EXPECT_GT(max_abs_diff(param, wave({6, 5}, 1, dtype)), 0.1);  // it did move
  }
}

TEST(AdamW, ClipGradNorm) {
  auto make = [] {
    std::vector<at::Tensor> ps = {at::zeros({2}).set_requires_grad(true), at::zeros({1}).set_requires_grad(true),
                                  at::zeros({3}).set_requires_grad(true)};
    ps[0].mutable_grad() = at::tensor({3.0f, 4.0f});
    ps[1].mutable_grad() = at::tensor({12.0f});
    return ps;  // ps[2] has no grad
  };
  auto ps = make();
  EXPECT_NEAR(clip_grad_norm(ps, 0), 13.0, 1e-9);  // no clipping
  EXPECT_TRUE(at::equal(ps[0].grad(), at::tensor({3.0f, 4.0f})));
  EXPECT_NEAR(clip_grad_norm(ps, 100), 13.0, 1e-9);  // under the bound: untouched
  EXPECT_TRUE(at::equal(ps[1].grad(), at::tensor({12.0f})));
  EXPECT_NEAR(clip_grad_norm(ps, 6.5), 13.0, 1e-9);
  const double coef = 6.5 / (13.0 + 1e-6);
  EXPECT_TRUE(at::allclose(ps[0].grad(), at::tensor({3.0f, 4.0f}) * coef));
  EXPECT_TRUE(at::allclose(ps[1].grad(), at::tensor({12.0f}) * coef));
  EXPECT_NEAR(clip_grad_norm(ps, 0), 6.5, 1e-5);

  auto bad = make();
  bad[1].mutable_grad() = at::tensor({std::numeric_limits<float>::infinity()});
  EXPECT_TRUE(std::isinf(clip_grad_norm(bad, 1.0)));
  EXPECT_TRUE(at::equal(bad[0].grad(), at::tensor({3.0f, 4.0f})));  // left for the caller to skip

  std::vector<at::Tensor> none = {at::zeros({2}).set_requires_grad(true)};
  EXPECT_EQ(clip_grad_norm(none, 1.0), 0.0);
}

// Seven parameters of mixed sizes and dtypes (one bf16 with a master copy, one f64, one frozen).
std::vector<std::pair<std::string, at::Tensor>> make_named_params() {
  std::vector<std::pair<std::string, at::Tensor>> named = {{"lm_head.weight", wave({37, 11}, 0)},
                                                           {"embed", wave({500}, 1)},
                                                           {"norm.weight", wave({16}, 2, at::kBFloat16)},
                                                           {"layers.0.w", wave({64, 8}, 3)},
                                                           {"layers.1.w", wave({3}, 4, at::kDouble)},
                                                           {"bias", wave({9}, 5)},
                                                           {"frozen", wave({4}, 6)}};
  for (auto& [name, t] : named) {
    if (name != "frozen") t.set_requires_grad(true);
  }
  return named;
}

// Same grads on every rank (as after GradientBuckets::all_reduce); "bias" has none at step 2.
void set_grads(std::vector<std::pair<std::string, at::Tensor>>& named, int step) {
  for (size_t i = 0; i < named.size(); ++i) {
    at::Tensor& p = named[i].second;
    if (!p.requires_grad()) continue;
    if (named[i].first == "bias" && step == 2)
      p.mutable_grad() = at::Tensor();
    else
      p.mutable_grad() = wave(p.sizes(), 100 * step + static_cast<int>(i), p.scalar_type());
  }
}

std::vector<std::pair<std::string, at::Tensor>> clone_params(
    const std::vector<std::pair<std::string, at::Tensor>>& in) {
  std::vector<std::pair<std::string, at::Tensor>> out;
  for (const auto& [name, t] : in) out.emplace_back(name, t.detach().clone().set_requires_grad(t.requires_grad()));
  return out;
}

TEST(ShardedAdamW, TwoShardedRanksMatchOneUnshardedProcess) {
  if (visrl::test::in_scenario("zero1")) {
    auto comm = testing::rank_communicator();
    auto single = testing::single_communicator();
    AdamWOptions options;
    options.weight_decay = 0.05;
    options.bucket_mb = 1.0 / 1024;  // 1 KiB buckets: several per owner, the embedding split
    auto named = make_named_params();
    auto reference_named = clone_params(named);
    ShardedAdamW sharded(named, options, *comm, /*shard=*/true);
    ShardedAdamW reference(reference_named, options, *single, /*shard=*/false);
    for (int step = 1; step <= 3; ++step) {
      set_grads(named, step);
      set_grads(reference_named, step);
      sharded.step(1e-2 * step);
      reference.step(1e-2 * step);
    }
    for (size_t i = 0; i < named.size(); ++i) {
      EXPECT_LE(max_abs_diff(named[i].second, reference_named[i].second), 1e-6) << named[i].first;
    }
    EXPECT_GT(max_abs_diff(named[0].second, wave({37, 11}, 0)), 0.01);

    // Both ranks hold identical parameters: [2, total] from all_gather, rows equal.
    std::vector<at::Tensor> flat;
    for (auto& [name, t] : named) flat.push_back(t.detach().reshape({-1}).to(at::kDouble));
    at::Tensor rows = comm->all_gather(at::cat(flat));
    EXPECT_TRUE(at::equal(rows[0], rows[1]));

    // The state is partitioned: disjoint, complete, balanced, and equal to the reference's.
    std::vector<std::string> mine = sharded.held_names();
    EXPECT_FALSE(mine.empty());
    EXPECT_GT(sharded.held_numel(), 0);
    for (const std::string& name : mine) {
      EXPECT_EQ(sharded.owner_of(name), comm->rank());
      EXPECT_EQ(sharded.state(name).step, name == "bias" ? 2 : 3) << name;
      EXPECT_LE(max_abs_diff(sharded.state(name).exp_avg_sq, reference.state(name).exp_avg_sq), 1e-7) << name;
      EXPECT_EQ(sharded.state(name).master.defined(), name == "norm.weight") << name;
    }
    std::vector<std::string> all = comm->gather_strings(fmt::format("{}", fmt::join(mine, " ")));
    std::multiset<std::string> names;
    for (const std::string& line : all) {
      size_t start = 0;
      while (start < line.size()) {
        size_t space = line.find(' ', start);
        if (space == std::string::npos) space = line.size();
        names.insert(line.substr(start, space - start));
        start = space + 1;
      }
    }
    EXPECT_EQ(names, (std::multiset<std::string>{"bias", "embed", "layers.0.w", "layers.1.w", "lm_head.weight",
                                                 "norm.weight"}));

    // A checkpoint from any world size: a fresh sharded optimizer loads the unsharded state
    // and keeps only its own part.
    ShardedAdamW restored(named, options, *comm, /*shard=*/true);
    restored.load_state_dict(reference.state_dict());
    for (const std::string& name : restored.held_names()) {
      EXPECT_EQ(restored.state(name).step, reference.state(name).step);
      EXPECT_TRUE(at::equal(restored.state(name).exp_avg, reference.state(name).exp_avg)) << name;
    }
    return;
  }
  auto result = visrl::test::run_ranks(2, "zero1", std::chrono::seconds(60));
  EXPECT_TRUE(result.ok()) << result.summary();
}

TEST(ShardedAdamW, UnshardedHoldsEverythingAndRejectsUnknownNames) {
  auto single = testing::single_communicator();
  auto named = make_named_params();
  ShardedAdamW optimizer(named, AdamWOptions{}, *single, /*shard=*/false);
  EXPECT_EQ(optimizer.held_names().size(), 6u);  // "frozen" is left out
  EXPECT_EQ(optimizer.owner_of("embed"), 0);
  EXPECT_TRUE(optimizer.holds("embed"));
  EXPECT_NE(visrl::test::error_of([&] { optimizer.owner_of("frozen"); }).find("no trainable parameter named frozen"),
            std::string::npos);
  std::map<std::string, AdamWState> bad;
  bad["embed"].exp_avg = at::zeros({3});
  bad["embed"].exp_avg_sq = at::zeros({3});
  EXPECT_NE(visrl::test::error_of([&] { optimizer.load_state_dict(bad); }).find("expected moments of shape [500]"),
            std::string::npos);
}

}  // namespace
}  // namespace visrl::trainer
