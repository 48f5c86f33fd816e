// forward_logprobs against transformers' logits (log_softmax + gather), padding, gradients.
#include <gtest/gtest.h>
#include <torch/csrc/autograd/grad_mode.h>

#include <ATen/CPUGeneratorImpl.h>
#include <c10/core/InferenceMode.h>

#include "policy/generate/logprobs.h"
#include "policy/model/hf_checkpoint.h"
#include "tests/policy/model/model_fixture.h"

namespace visrl::test {
namespace {

using namespace visrl::policy;

// The reference: log-probs and entropies from transformers' logits of one prompt, [T-1].
std::pair<at::Tensor, at::Tensor> reference(const Qwen3VLFixture& fx, const std::string& prompt, double temperature) {
  auto logits = fx.get(prompt + ".logits")[0] / temperature;  // [T, V]
  auto ids = fx.get(prompt + ".input_ids")[0];
  const int64_t T = ids.size(0);
  auto logp = logits.narrow(0, 0, T - 1).log_softmax(-1);
  return {logp.gather(1, ids.narrow(0, 1, T - 1).unsqueeze(1)).squeeze(1), -(logp.exp() * logp).sum(-1)};
}

// The three prompts in one batch, padded on the given side.
LogprobBatch padded_batch(const Qwen3VLFixture& fx, bool left) {
  std::vector<at::Tensor> ids, pixels, grids;
  int64_t T = 0;
  for (const char* p : kPrompts) {
    ids.push_back(fx.get(std::string(p) + ".input_ids")[0]);
    T = std::max(T, ids.back().size(0));
    if (fx.has(std::string(p) + ".pixel_values")) {
      pixels.push_back(fx.get(std::string(p) + ".pixel_values"));
      grids.push_back(fx.get(std::string(p) + ".image_grid_thw"));
    }
  }
  LogprobBatch batch;
  batch.input_ids = at::full({3, T}, 2000, at::kLong);
  batch.attention_mask = at::zeros({3, T}, at::kLong);
  for (int64_t b = 0; b < 3; ++b) {
    const int64_t n = ids[b].size(0), start = left ? T - n : 0;
    batch.input_ids[b].narrow(0, start, n).copy_(ids[b]);
    batch.attention_mask[b].narrow(0, start, n).fill_(1);
  }
  batch.pixel_values = at::cat(pixels);
  batch.image_grid_thw = at::cat(grids);
  return batch;
}

class LogprobsMatchTransformers : public ::testing::TestWithParam<const char*> {};

TEST_P(LogprobsMatchTransformers, SinglePrompts) {
  Qwen3VLFixture fx(GetParam());
  auto model = load_pretrained(fx.model_dir);
  torch::NoGradGuard no_grad;
  for (double temperature : {1.0, 0.7}) {
    for (const char* prompt : kPrompts) {
      auto in = fx.inputs(prompt);
      auto out = forward_logprobs(*model, {in.input_ids, {}, in.pixel_values, in.image_grid_thw, {}}, temperature);
      auto [logp, entropy] = reference(fx, prompt, temperature);
      EXPECT_LE((out.logprobs[0] - logp).abs().max().item<double>(), 1e-4) << prompt;
      EXPECT_LE((out.entropies[0] - entropy).abs().max().item<double>(), 1e-4) << prompt;
    }
  }
}

TEST_P(LogprobsMatchTransformers, RightAndLeftPaddedBatches) {
  Qwen3VLFixture fx(GetParam());
  auto model = load_pretrained(fx.model_dir);
  torch::NoGradGuard no_grad;
  for (bool left : {false, true}) {
    auto batch = padded_batch(fx, left);
    auto out = forward_logprobs(*model, batch);
    const int64_t T = batch.input_ids.size(1);
    for (int64_t b = 0; b < 3; ++b) {
      auto [logp, entropy] = reference(fx, kPrompts[b], 1.0);
      const int64_t n = logp.size(0) + 1, start = left ? T - n : 0;
      auto ours = out.logprobs[b].narrow(0, start, n - 1);
      EXPECT_LE((ours - logp).abs().max().item<double>(), 1e-4) << (left ? "left " : "right ") << kPrompts[b];
      // Positions whose target is padding are not scored.
      const int64_t unscored = out.logprobs[b].eq(0).sum().item<int64_t>();
      EXPECT_GE(unscored, T - n);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(TinyConfigs, LogprobsMatchTransformers, ::testing::ValuesIn(kConfigs));

TEST(ForwardLogprobs, GradientsReachTheDecoderAndTheVisionEncoder) {
  Qwen3VLFixture fx("untied");
  auto model = load_pretrained(fx.model_dir);
  model->train();
  auto in = fx.inputs("one_image");
  auto out = forward_logprobs(*model, {in.input_ids, {}, in.pixel_values, in.image_grid_thw, {}});
  out.logprobs.sum().backward();
  auto grad_norm = [](const at::Tensor& p) { return p.grad().defined() ? p.grad().norm().item<double>() : 0.0; };
  EXPECT_GT(grad_norm(model->lm_head->weight), 0);
  EXPECT_GT(grad_norm(model->visual->patch_proj_weight), 0);
  EXPECT_GT(grad_norm(model->visual->deepstack_merger_list->ptr<PatchMergerImpl>(0)->linear_fc2->weight), 0);
}

// A GRPO group repeats its image per row; the model encodes it once. Results and gradients
// must be those of encoding every row's image separately.
TEST(ForwardLogprobs, RepeatedImagesAreEncodedOnceWithTheSameResultsAndGradients) {
  Qwen3VLFixture fx("untied");
  auto model = load_pretrained(fx.model_dir);
  model->train();
  auto in = fx.inputs("one_image");
  auto single = forward_logprobs(*model, {in.input_ids, {}, in.pixel_values, in.image_grid_thw, {}});
  single.logprobs.sum().backward();
  auto single_grad = model->visual->patch_proj_weight.grad().clone();
  model->zero_grad();

  LogprobBatch twice{
      in.input_ids.repeat({2, 1}), {}, in.pixel_values.repeat({2, 1}), in.image_grid_thw.repeat({2, 1}), {}};
  auto out = forward_logprobs(*model, twice);
  for (int64_t row = 0; row < 2; ++row) {
    EXPECT_LE((out.logprobs[row] - single.logprobs[0]).abs().max().item<double>(), 1e-5);
  }
  out.logprobs.sum().backward();
  auto grad = model->visual->patch_proj_weight.grad();
  EXPECT_LE((grad - 2 * single_grad).abs().max().item<double>(), 1e-4 * (1 + single_grad.abs().max().item<double>()));
}

TEST(ForwardLogprobs, MixedRepeatedAndDistinctImages) {
  // Rows: one_image (a), two_images (b, c), one_image (a) -> images a b c a, a encoded once.
  Qwen3VLFixture fx("tied");
  auto model = load_pretrained(fx.model_dir);
  torch::NoGradGuard no_grad;
  auto one = fx.inputs("one_image"), two = fx.inputs("two_images");
  const int64_t T = two.input_ids.size(1), n1 = one.input_ids.size(1);
  auto ids = at::full({3, T}, 2000, at::kLong);
  auto mask = at::zeros({3, T}, at::kLong);
  for (int64_t row : {0, 2}) {
    ids[row].narrow(0, 0, n1).copy_(one.input_ids[0]);
    mask[row].narrow(0, 0, n1).fill_(1);
  }
  ids[1].copy_(two.input_ids[0]);
  mask[1].fill_(1);
  LogprobBatch batch{ids,
                     mask,
                     at::cat({one.pixel_values, two.pixel_values, one.pixel_values}),
                     at::cat({one.image_grid_thw, two.image_grid_thw, one.image_grid_thw}),
                     {}};
  auto out = forward_logprobs(*model, batch);
  auto [logp_one, e1] = reference(fx, "one_image", 1.0);
  auto [logp_two, e2] = reference(fx, "two_images", 1.0);
  EXPECT_LE((out.logprobs[0].narrow(0, 0, n1 - 1) - logp_one).abs().max().item<double>(), 1e-4);
  EXPECT_LE((out.logprobs[2].narrow(0, 0, n1 - 1) - logp_one).abs().max().item<double>(), 1e-4);
  EXPECT_LE((out.logprobs[1] - logp_two).abs().max().item<double>(), 1e-4);
}

TEST(ForwardLogprobs, ScoreMaskSelectsPositions) {
  Qwen3VLFixture fx("tied");
  auto model = load_pretrained(fx.model_dir);
  torch::NoGradGuard no_grad;
  auto in = fx.inputs("text");
  const int64_t T = in.input_ids.size(1);
  auto mask = at::zeros({1, T - 1}, at::kBool);
  mask.narrow(1, T - 4, 3).fill_(true);
  auto out = forward_logprobs(*model, {in.input_ids, {}, {}, {}, mask});
  EXPECT_EQ(out.logprobs.ne(0).sum().item<int64_t>(), 3);
  auto [logp, entropy] = reference(fx, "text", 1.0);
  EXPECT_LE((out.logprobs[0].narrow(0, T - 4, 3) - logp.narrow(0, T - 4, 3)).abs().max().item<double>(), 1e-4);
}

// ---- Chunked log-probs (model.logprob_chunk_tokens): the same values and gradients as the
// all-at-once path, in float64 to rounding and in float32 to a tight tolerance.

double max_rel_diff(const at::Tensor& got, const at::Tensor& want) {
  const auto w = want.to(at::kDouble);
  return (got.to(at::kDouble) - w).abs().max().item<double>() / (1.0 + w.abs().max().item<double>());
}

struct LossAndGrads {
  at::Tensor logprobs, entropies;
  std::vector<at::Tensor> grads;  // one per model parameter, undefined where none
};

// A scalar loss mixing log-probs and entropies with fixed random weights, and every gradient.
LossAndGrads loss_and_grads(Qwen3VLImpl& model, const LogprobBatch& batch, double temperature, int64_t chunk) {
  model.zero_grad();
  auto out = forward_logprobs(model, batch, temperature, chunk);
  auto gen = at::make_generator<at::CPUGeneratorImpl>(7);
  auto wl = at::randn(out.logprobs.sizes(), gen, out.logprobs.options());
  auto we = at::randn(out.entropies.sizes(), gen, out.entropies.options());
  ((out.logprobs * wl).sum() + (out.entropies * we).sum()).backward();
  LossAndGrads r{out.logprobs.detach(), out.entropies.detach(), {}};
  for (const auto& p : model.parameters()) r.grads.push_back(p.grad().defined() ? p.grad().clone() : at::Tensor());
  return r;
}

class ChunkedLogprobs : public ::testing::TestWithParam<std::tuple<const char*, at::ScalarType>> {};

TEST_P(ChunkedLogprobs, ValuesAndGradientsMatchTheUnchunkedPath) {
  const auto [config, dtype] = GetParam();
  const double tol = dtype == at::kDouble ? 1e-10 : 2e-5;
  Qwen3VLFixture fx(config);
  LoadOptions load;
  load.dtype = dtype;
  auto model = load_pretrained(fx.model_dir, load);
  model->train();
  const auto batch = padded_batch(fx, /*left=*/false);
  const double temperature = 0.7;
  const auto want = loss_and_grads(*model, batch, temperature, 0);
  ASSERT_EQ(want.logprobs.scalar_type(), dtype);
  const int64_t scored = want.logprobs.ne(0).sum().item<int64_t>();
  ASSERT_GT(scored, 20);
  int64_t with_grad = 0;
  for (const auto& g : want.grads) with_grad += g.defined() ? 1 : 0;
  ASSERT_EQ(with_grad, static_cast<int64_t>(want.grads.size()));
  for (int64_t chunk : {int64_t{1}, int64_t{3}, int64_t{7}, scored + 5}) {
    const auto got = loss_and_grads(*model, batch, temperature, chunk);
    EXPECT_EQ(got.logprobs.scalar_type(), dtype);
    EXPECT_LE(max_rel_diff(got.logprobs, want.logprobs), tol) << "chunk " << chunk;
    EXPECT_LE(max_rel_diff(got.entropies, want.entropies), tol) << "chunk " << chunk;
    const auto names = model->named_parameters().keys();
    for (size_t i = 0; i < want.grads.size(); ++i) {
      ASSERT_TRUE(got.grads[i].defined()) << names[i];
      EXPECT_EQ(got.grads[i].scalar_type(), dtype);
      EXPECT_LE(max_rel_diff(got.grads[i], want.grads[i]), tol) << "chunk " << chunk << " " << names[i];
    }
  }
}

TEST_P(ChunkedLogprobs, NoGradAndInferenceModeMatch) {
  const auto [config, dtype] = GetParam();
  const double tol = dtype == at::kDouble ? 1e-10 : 2e-5;
  Qwen3VLFixture fx(config);
  LoadOptions load;
  load.dtype = dtype;
  auto model = load_pretrained(fx.model_dir, load);
  const auto batch = padded_batch(fx, /*left=*/true);
  TokenLogprobs want;
  {
    torch::NoGradGuard no_grad;
    want = forward_logprobs(*model, batch, 1.3, 0);
  }
  for (int64_t chunk : {1, 5, 100000}) {
    TokenLogprobs a, b;
    {
      torch::NoGradGuard no_grad;
      a = forward_logprobs(*model, batch, 1.3, chunk);
    }
    {
      c10::InferenceMode inference;
      b = forward_logprobs(*model, batch, 1.3, chunk);
    }
    for (const auto* out : {&a, &b}) {
      EXPECT_FALSE(out->logprobs.requires_grad());
      EXPECT_EQ(out->logprobs.scalar_type(), dtype);
      EXPECT_LE(max_rel_diff(out->logprobs, want.logprobs), tol) << "chunk " << chunk;
      EXPECT_LE(max_rel_diff(out->entropies, want.entropies), tol) << "chunk " << chunk;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(TiedAndUntied, ChunkedLogprobs,
                         ::testing::Combine(::testing::ValuesIn(kConfigs), ::testing::Values(at::kDouble, at::kFloat)));

// The head alone: gradients reach exactly the inputs that require them, for a loss on the
// log-probs only, the entropies only, or both, and match plain autograd.
TEST(LmHeadLogprobs, GradientsOnlyForInputsThatRequireThem) {
  auto gen = at::make_generator<at::CPUGeneratorImpl>(3);
  const auto opts = at::TensorOptions().dtype(at::kDouble);
  const auto h0 = at::randn({13, 8}, gen, opts), w0 = at::randn({50, 8}, gen, opts);
  const auto targets = at::randint(50, {13}, gen, at::TensorOptions().dtype(at::kLong));
  const auto wl = at::randn({13}, gen, opts), we = at::randn({13}, gen, opts);
  for (int terms = 1; terms <= 3; ++terms) {  // 1: log-probs, 2: entropies, 3: both
    for (auto [h_grad, w_grad] : {std::pair{true, false}, std::pair{false, true}, std::pair{true, true}}) {
      std::vector<at::Tensor> grads[2];
      for (int64_t chunk : {0, 4}) {
        auto h = h0.clone().requires_grad_(h_grad), w = w0.clone().requires_grad_(w_grad);
        auto out = lm_head_logprobs(h, w, targets, 0.6, chunk);
        at::Tensor loss = at::zeros({}, opts);
        if (terms & 1) loss = loss + (out.logprobs * wl).sum();
        if (terms & 2) loss = loss + (out.entropies * we).sum();
        loss.backward();
        EXPECT_EQ(h.grad().defined(), h_grad);
        EXPECT_EQ(w.grad().defined(), w_grad);
        grads[chunk == 0 ? 0 : 1] = {h.grad(), w.grad()};
      }
      for (size_t i = 0; i < 2; ++i) {
        if (!grads[0][i].defined()) continue;
        EXPECT_LE(max_rel_diff(grads[1][i], grads[0][i]), 1e-12) << "terms " << terms << " input " << i;
      }
    }
  }
}

TEST(LmHeadLogprobs, FrozenLmHeadGetsNoGradient) {
  Qwen3VLFixture fx("untied");
  auto model = load_pretrained(fx.model_dir);
  model->lm_head->weight.requires_grad_(false);
  const auto batch = padded_batch(fx, /*left=*/false);
  const auto want = loss_and_grads(*model, batch, 1.0, 0);
  const auto got = loss_and_grads(*model, batch, 1.0, 4);
  EXPECT_FALSE(model->lm_head->weight.grad().defined());
  const auto names = model->named_parameters().keys();
  for (size_t i = 0; i < want.grads.size(); ++i) {
    EXPECT_EQ(got.grads[i].defined(), want.grads[i].defined()) << names[i];
    if (want.grads[i].defined()) {
      EXPECT_LE(max_rel_diff(got.grads[i], want.grads[i]), 2e-5) << names[i];
    }
  }
}

}  // namespace
}  // namespace visrl::test
