// Gradient checkpointing changes memory, not numbers: the same loss and the same gradients
// for every parameter as a plain backward, on the tiny checkpoint with an image.
#include <gtest/gtest.h>

#include "policy/model/hf_checkpoint.h"
#include "tests/policy/model/model_fixture.h"

namespace visrl::test {
namespace {

std::map<std::string, at::Tensor> loss_grads(policy::Qwen3VL& model, const policy::ModelInputs& inputs, bool checkpoint,
                                             double* loss_value) {
  model->language_model->gradient_checkpointing = checkpoint;
  model->zero_grad();
  auto logits = model->forward(inputs);  // [1, T, V]
  auto loss = logits.log_softmax(-1).select(-1, 7).mean();
  loss.backward();
  *loss_value = loss.item<double>();
  std::map<std::string, at::Tensor> grads;
  for (const auto& p : model->named_parameters()) {
    if (p.value().grad().defined()) grads[p.key()] = p.value().grad().clone();
  }
  return grads;
}

TEST(LayerCheckpoint, SameLossAndGradientsAsAPlainBackward) {
  Qwen3VLFixture fx("untied");
  auto model = policy::load_pretrained(fx.model_dir);
  const auto inputs = fx.inputs("one_image");
  double plain_loss = 0, ckpt_loss = 0;
  auto plain = loss_grads(model, inputs, false, &plain_loss);
  auto ckpt = loss_grads(model, inputs, true, &ckpt_loss);
  EXPECT_DOUBLE_EQ(plain_loss, ckpt_loss);
  ASSERT_EQ(plain.size(), ckpt.size());
  ASSERT_GT(plain.size(), 10u);
  for (const auto& [name, g] : plain) {
    ASSERT_TRUE(ckpt.count(name)) << name;
    EXPECT_TRUE(at::allclose(g, ckpt.at(name), 1e-5, 1e-7))
        << name << " max diff " << (g - ckpt.at(name)).abs().max().item<double>();
  }
}

TEST(LayerCheckpoint, InferenceForwardIsUnchanged) {
  Qwen3VLFixture fx("tied");
  auto model = policy::load_pretrained(fx.model_dir);
  const auto inputs = fx.inputs("text");
  at::NoGradGuard no_grad;
  auto plain = model->forward(inputs);
  model->language_model->gradient_checkpointing = true;
  EXPECT_TRUE(at::equal(plain, model->forward(inputs)));
}

}  // namespace
}  // namespace visrl::test
