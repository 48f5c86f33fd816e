// forward_logprobs against transformers' logits (log_softmax + gather), padding, gradients.
#include <gtest/gtest.h>
#include <torch/csrc/autograd/grad_mode.h>

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

  LogprobBatch twice{in.input_ids.repeat({2, 1}), {}, in.pixel_values.repeat({2, 1}), in.image_grid_thw.repeat({2, 1}), {}};
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
  LogprobBatch batch{ids, mask, at::cat({one.pixel_values, two.pixel_values, one.pixel_values}),
                     at::cat({one.image_grid_thw, two.image_grid_thw, one.image_grid_thw}), {}};
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

}  // namespace
}  // namespace visrl::test
