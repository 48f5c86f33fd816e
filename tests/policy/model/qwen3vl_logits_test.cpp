// Logits of our Qwen3-VL against transformers' on the committed tiny checkpoints (float32).
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <torch/cuda.h>
#include <torch/csrc/autograd/grad_mode.h>

#include "core/error.h"
#include "policy/model/hf_checkpoint.h"
#include "tests/policy/model/model_fixture.h"

namespace visrl::test {
namespace {

using policy::load_pretrained;

class LogitsMatchTransformers : public ::testing::TestWithParam<std::tuple<const char*, const char*>> {};

TEST_P(LogitsMatchTransformers, WithinOneEMinus4) {
  auto [config, prompt] = GetParam();
  Qwen3VLFixture fx(config);
  auto model = load_pretrained(fx.model_dir);
  ASSERT_EQ(model->dtype(), at::kFloat);
  torch::NoGradGuard no_grad;
  auto logits = model->forward(fx.inputs(prompt));
  auto expected = fx.get(std::string(prompt) + ".logits");
  ASSERT_EQ(logits.sizes(), expected.sizes());
  const double max_diff = (logits - expected).abs().max().item<double>();
  EXPECT_LE(max_diff, 1e-4) << config << "/" << prompt;
  // The logits must carry signal, or a near-zero model would pass trivially.
  EXPECT_GT(expected.std().item<double>(), 0.1);
  RecordProperty("max_abs_diff", std::to_string(max_diff));
}

INSTANTIATE_TEST_SUITE_P(TinyConfigs, LogitsMatchTransformers,
                         ::testing::Combine(::testing::ValuesIn(kConfigs), ::testing::ValuesIn(kPrompts)),
                         [](const auto& param_info) {
                           return std::string(std::get<0>(param_info.param)) + "_" + std::get<1>(param_info.param);
                         });

// bfloat16 cannot match float32 to 1e-4; what matters is that our bf16 forward drifts from
// the float32 reference no more than transformers' own bf16 forward does.
TEST_P(LogitsMatchTransformers, Bfloat16DriftsNoMoreThanTransformers) {
  auto [config, prompt] = GetParam();
  Qwen3VLFixture fx(config);
  policy::LoadOptions options;
  options.dtype = at::kBFloat16;
  auto model = load_pretrained(fx.model_dir, options);
  ASSERT_EQ(model->dtype(), at::kBFloat16);
  torch::NoGradGuard no_grad;
  auto logits = model->forward(fx.inputs(prompt)).to(at::kFloat);
  auto reference = fx.get(std::string(prompt) + ".logits");
  const double ours = (logits - reference).abs().max().item<double>();
  const double theirs = (fx.get(std::string(prompt) + ".logits_bf16") - reference).abs().max().item<double>();
  EXPECT_LE(ours, 1.5 * theirs + 1e-3) << config << "/" << prompt << ": ours " << ours << ", transformers " << theirs;
  RecordProperty("bf16_drift_ours", std::to_string(ours));
  RecordProperty("bf16_drift_transformers", std::to_string(theirs));
}

TEST(Qwen3VLModel, CudaLogitsMatchTransformers) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  Qwen3VLFixture fx("untied");
  policy::LoadOptions options;
  options.device = c10::Device(c10::kCUDA, 0);
  auto model = load_pretrained(fx.model_dir, options);
  torch::NoGradGuard no_grad;
  auto in = fx.inputs("two_images");
  in.input_ids = in.input_ids.cuda();
  in.position_ids = in.position_ids.cuda();
  in.pixel_values = in.pixel_values.cuda();
  auto logits = model->forward(in).cpu();
  EXPECT_LE((logits - fx.get("two_images.logits")).abs().max().item<double>(), 1e-3);
}

TEST(Qwen3VLModel, ImageTokenCountMustMatchTheFeatures) {
  Qwen3VLFixture fx("tied");
  auto model = load_pretrained(fx.model_dir);
  auto in = fx.inputs("one_image");
  in.input_ids = in.input_ids.clone();
  // Turn one image token into text: 1 token short of the image's features.
  auto positions = (in.input_ids == model->config.image_token_id).nonzero();
  in.input_ids.index_put_({positions[0][0], positions[0][1]}, 5);
  torch::NoGradGuard no_grad;
  try {
    model->forward(in);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), ::testing::HasSubstr("image tokens and image features do not match"));
  }
}

TEST(Qwen3VLModel, DeepStackAndImagesChangeTheLogits) {
  // Guards against a forward that silently ignores the image (the logits test would still
  // pass for the text part of an image prompt only if features matched, but be explicit).
  Qwen3VLFixture fx("untied");
  auto model = load_pretrained(fx.model_dir);
  torch::NoGradGuard no_grad;
  auto in = fx.inputs("one_image");
  auto with_image = model->forward(in);
  in.pixel_values = in.pixel_values * 0.5;
  auto other_image = model->forward(in);
  EXPECT_GT((with_image - other_image).abs().max().item<double>(), 1e-3);
}

}  // namespace
}  // namespace visrl::test
