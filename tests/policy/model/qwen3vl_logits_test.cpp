// Logits of our Qwen3-VL against transformers' on the committed tiny checkpoints (float32).
#include <gmock/gmock.h>
#include <gtest/gtest.h>
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
