// LoRA against PEFT 0.21 on transformers' Qwen3-VL (fixtures: tests/fixtures/lora/generate.py):
// visrl loads PEFT's adapters and gives PEFT's logits and gradients, writes PEFT's layout, merges
// for generation and puts the base back bit for bit, and its reference is the base alone.
#include <gtest/gtest.h>

#include <fstream>
#include <set>

#include <torch/autograd.h>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/json_file.h"
#include "policy/model/hf_checkpoint.h"
#include "policy/model/lora.h"
#include "policy/model/lora_checkpoint.h"
#include "policy/model/training_mode.h"
#include "tests/policy/model/model_fixture.h"

namespace visrl::test {
namespace {

namespace fs = std::filesystem;

fs::path lora_dir() {
  return source_dir() / "tests/fixtures/lora";
}

struct LoraFixture {
  LoraFixture() : file(safetensors::File::open(lora_dir() / "lora.safetensors")) {}
  at::Tensor get(const std::string& key) const { return file->tensor(key).clone(); }
  nlohmann::json cases() const { return nlohmann::json::parse(file->header().metadata.at("cases")); }
  std::shared_ptr<const safetensors::File> file;
};

double max_diff(const at::Tensor& a, const at::Tensor& b) {
  return (a - b).abs().max().item<double>();
}

// The fixture's loss: mean next-token cross-entropy over the prompt.
at::Tensor prompt_loss(policy::Qwen3VLImpl& model, const policy::ModelInputs& in) {
  auto logits = model.forward(in);  // [1, T, V]
  const int64_t T = logits.size(1);
  return at::cross_entropy_loss(logits[0].slice(0, 0, T - 1), in.input_ids[0].slice(0, 1, T));
}

bool same_bits(policy::Qwen3VLImpl& a, policy::Qwen3VLImpl& b) {
  auto pa = a.named_parameters();
  auto pb = b.named_parameters();
  if (pa.size() != pb.size()) return false;
  for (const auto& item : pa) {
    if (!at::equal(item.value(), pb[item.key()])) return false;
  }
  return true;
}

class PeftAdapter : public ::testing::TestWithParam<std::string> {};

TEST_P(PeftAdapter, LoadsWithItsBaseAndGivesPeftsLogits) {
  const auto name = GetParam();
  LoraFixture fx;
  Qwen3VLFixture base("tied");
  auto model = policy::load_pretrained(lora_dir() / name);  // base_model_name_or_path: ../../qwen3vl/tied
  ASSERT_TRUE(policy::has_lora(*model));
  std::vector<std::string> adapted;
  for (const auto& [path, adapter] : policy::lora_adapters(*model)) adapted.push_back(path);
  EXPECT_EQ(adapted, fx.cases()[name]["adapted_modules"].get<std::vector<std::string>>());
  at::NoGradGuard no_grad;
  const auto logits = model->forward(base.inputs("one_image"));
  EXPECT_LE(max_diff(logits, fx.get(name + ".logits")), 1e-5);
  RecordProperty("max_abs_diff", std::to_string(max_diff(logits, fx.get(name + ".logits"))));
}

TEST_P(PeftAdapter, GradientsAndOneSgdStepEqualPeft) {
  const auto name = GetParam();
  LoraFixture fx;
  Qwen3VLFixture base("tied");
  auto model = policy::load_pretrained(lora_dir() / name);
  const auto in = base.inputs("one_image");
  auto loss = prompt_loss(*model, in);
  EXPECT_NEAR(loss.item<double>(), fx.get(name + ".loss").item<double>(), 1e-5);
  loss.backward();
  double worst = 0;
  for (auto& [key, tensor] : policy::lora_parameters(*model)) {
    ASSERT_TRUE(tensor.grad().defined()) << key;
    worst = std::max(worst, max_diff(tensor.grad(), fx.get(name + ".grad.base_model.model." + key)));
  }
  EXPECT_LE(worst, 1e-5);
  RecordProperty("max_grad_diff", std::to_string(worst));
  for (const auto& p : model->parameters()) EXPECT_FALSE(p.grad().defined());  // the base is frozen
  {
    at::NoGradGuard no_grad;
    for (auto& [key, tensor] : policy::lora_parameters(*model)) tensor.sub_(0.5 * tensor.grad());  // SGD, lr 0.5
    EXPECT_LE(max_diff(model->forward(in), fx.get(name + ".after_step_logits")), 1e-4);
  }
}

TEST_P(PeftAdapter, SwitchedOffIsTheBaseLoadedAlone) {
  const auto name = GetParam();
  Qwen3VLFixture base("tied");
  auto model = policy::load_pretrained(lora_dir() / name);
  auto alone = policy::load_pretrained(base.model_dir);
  at::NoGradGuard no_grad;
  const auto in = base.inputs("one_image");
  at::Tensor off;
  {
    policy::LoraDisabled disabled(*model);
    off = model->forward(in);
  }
  EXPECT_TRUE(at::equal(off, alone->forward(in)));     // bit for bit: the KL reference costs no second model
  EXPECT_GT(max_diff(model->forward(in), off), 1e-2);  // and the adapters are back on
}

TEST_P(PeftAdapter, MergedGenerationThenTheBaseBitForBit) {
  const auto name = GetParam();
  LoraFixture fx;
  Qwen3VLFixture base("tied");
  auto model = policy::load_pretrained(lora_dir() / name);
  auto alone = policy::load_pretrained(base.model_dir);
  at::NoGradGuard no_grad;
  const auto in = base.inputs("one_image");
  const auto unmerged = model->forward(in);
  {
    policy::LoraMerged merged(*model);
    EXPECT_FALSE(same_bits(*model, *alone));  // the weights changed
    const auto logits = model->forward(in);
    EXPECT_LE(max_diff(logits, fx.get(name + ".merged_logits")), 1e-5);
    EXPECT_LE(max_diff(logits, unmerged), 1e-5);
  }
  EXPECT_TRUE(same_bits(*model, *alone));  // read back from the base directory
  EXPECT_TRUE(at::equal(model->forward(in), unmerged));
}

// A bf16 base (what a GPU trains): W + scaling B A rounds, and subtracting it again would not
// give W back; reading the base again does, bit for bit.
TEST_P(PeftAdapter, ABf16BaseComesBackBitForBit) {
  const auto name = GetParam();
  Qwen3VLFixture base("tied");
  policy::LoadOptions bf16;
  bf16.dtype = at::kBFloat16;
  auto model = policy::load_pretrained(lora_dir() / name, bf16);
  auto alone = policy::load_pretrained(base.model_dir, bf16);
  EXPECT_EQ(model->dtype(), at::kBFloat16);
  for (const auto& [key, t] : policy::lora_parameters(*model)) EXPECT_EQ(t.scalar_type(), at::kFloat) << key;
  at::NoGradGuard no_grad;
  {
    policy::LoraMerged merged(*model);
    EXPECT_FALSE(same_bits(*model, *alone));
  }
  EXPECT_TRUE(same_bits(*model, *alone));
}

TEST_P(PeftAdapter, AnInMemoryModelIsPutBackFromCopies) {
  const auto name = GetParam();
  Qwen3VLFixture base("tied");
  auto model = policy::load_pretrained(lora_dir() / name);
  auto alone = policy::load_pretrained(base.model_dir);
  model->loaded_from.clear();
  at::NoGradGuard no_grad;
  { policy::LoraMerged merged(*model); }
  EXPECT_TRUE(same_bits(*model, *alone));
}

TEST_P(PeftAdapter, SavesPeftsLayoutAndLoadsItBack) {
  const auto name = GetParam();
  Qwen3VLFixture base("tied");
  auto model = policy::load_pretrained(lora_dir() / name);
  const auto out = fs::temp_directory_path() / ("visrl-lora-save-" + name);
  fs::remove_all(out);
  policy::save_adapter(*model, out, {fs::absolute(base.model_dir).string(), base.model_dir});
  // The same tensor names, shapes and dtypes as PEFT's file.
  const auto ours = safetensors::Checkpoint::open(out / policy::kAdapterWeights);
  const auto peft = safetensors::Checkpoint::open(lora_dir() / name / policy::kAdapterWeights);
  ASSERT_EQ(ours.names(), peft.names());
  for (const auto& key : ours.names()) {
    EXPECT_EQ(ours.info(key).shape, peft.info(key).shape) << key;
    EXPECT_EQ(ours.info(key).dtype, peft.info(key).dtype) << key;
    EXPECT_TRUE(at::equal(ours.tensor(key), peft.tensor(key))) << key;
  }
  // The same adapter as PEFT's config describes.
  const auto a = policy::read_adapter_spec(out), b = policy::read_adapter_spec(lora_dir() / name);
  EXPECT_EQ(a.rank, b.rank);
  EXPECT_EQ(a.alpha, b.alpha);
  EXPECT_EQ(a.use_rslora, b.use_rslora);
  EXPECT_EQ(std::set(a.target_modules.begin(), a.target_modules.end()),
            std::set(b.target_modules.begin(), b.target_modules.end()));
  EXPECT_TRUE(fs::exists(out / "tokenizer.json"));  // the directory stands for the policy
  auto again = policy::load_pretrained(out);
  at::NoGradGuard no_grad;
  EXPECT_TRUE(at::equal(again->forward(base.inputs("one_image")), model->forward(base.inputs("one_image"))));
  fs::remove_all(out);
}

INSTANTIATE_TEST_SUITE_P(Lora, PeftAdapter, ::testing::Values("text", "all_linear"));

TEST(LoraTargets, PeftsMatchingRules) {
  policy::LoraSpec s;
  s.target_modules = {"q_proj", "linear_fc1"};
  EXPECT_TRUE(policy::lora_targets(s, "model.language_model.layers.0.self_attn.q_proj"));
  EXPECT_FALSE(policy::lora_targets(s, "model.language_model.layers.0.self_attn.qq_proj"));
  EXPECT_TRUE(policy::lora_targets(s, "model.visual.merger.linear_fc1"));
  s.exclude_regex = policy::kVisionModulesRegex;
  EXPECT_FALSE(policy::lora_targets(s, "model.visual.merger.linear_fc1"));
  s.target_modules = {"all-linear"};
  EXPECT_TRUE(policy::lora_targets(s, "model.language_model.layers.3.mlp.down_proj"));
  EXPECT_FALSE(policy::lora_targets(s, "lm_head"));
  s.target_modules.clear();
  s.exclude_regex.clear();
  s.target_regex = R"(model\.language_model\.layers\.[01]\..*_proj)";
  EXPECT_TRUE(policy::lora_targets(s, "model.language_model.layers.1.self_attn.o_proj"));
  EXPECT_FALSE(policy::lora_targets(s, "model.language_model.layers.2.self_attn.o_proj"));
}

TEST(AddLora, FreshAdaptersChangeNothingAndTrainOnlyThemselves) {
  Qwen3VLFixture base("untied");
  auto model = policy::load_pretrained(base.model_dir);
  at::Tensor before;
  {
    at::NoGradGuard no_grad;
    before = model->forward(base.inputs("one_image"));
  }
  policy::LoraSpec spec;
  spec.rank = 3;
  spec.alpha = 6;
  spec.target_modules = {"all-linear"};
  spec.exclude_regex = policy::kVisionModulesRegex;
  const auto adapted = policy::add_lora(*model, spec, 7);
  EXPECT_EQ(adapted.size(), 4u * 7u);  // 4 decoder layers x 7 projections, nothing in model.visual
  for (const auto& p : model->parameters()) EXPECT_FALSE(p.requires_grad());
  for (auto& [key, t] : policy::lora_parameters(*model)) {
    EXPECT_TRUE(t.requires_grad()) << key;
    EXPECT_EQ(t.scalar_type(), at::kFloat) << key;
  }
  at::NoGradGuard no_grad;
  EXPECT_TRUE(at::equal(model->forward(base.inputs("one_image")), before));  // B = 0
  // The same seed draws the same A.
  auto other = policy::load_pretrained(base.model_dir);
  policy::add_lora(*other, spec, 7);
  const auto a = policy::lora_parameters(*model), b = policy::lora_parameters(*other);
  for (size_t i = 0; i < a.size(); ++i) EXPECT_TRUE(at::equal(a[i].second, b[i].second)) << a[i].first;
  spec.target_modules = {"no_such_proj"};
  auto third = policy::load_pretrained(base.model_dir);
  EXPECT_THROW(policy::add_lora(*third, spec, 7), Error);
}

TEST(AddLora, GradientCheckpointingGivesTheSameAdapterGradients) {
  Qwen3VLFixture base("tied");
  std::vector<at::Tensor> grads[2];
  for (int checkpointed = 0; checkpointed < 2; ++checkpointed) {
    auto model = policy::load_pretrained(lora_dir() / "text");
    model->language_model->gradient_checkpointing = checkpointed == 1;
    prompt_loss(*model, base.inputs("one_image")).backward();
    for (auto& [key, t] : policy::lora_parameters(*model)) {
      ASSERT_TRUE(t.grad().defined()) << key << (checkpointed ? " (checkpointed)" : "");
      grads[checkpointed].push_back(t.grad().clone());
    }
  }
  for (size_t i = 0; i < grads[0].size(); ++i) EXPECT_LE(max_diff(grads[0][i], grads[1][i]), 1e-6) << i;
}

TEST(AddLora, DropoutActsInTrainingModeOnly) {
  Qwen3VLFixture base("tied");
  auto model = policy::load_pretrained(lora_dir() / "text");
  for (auto& [path, adapter] : policy::lora_adapters(*model)) adapter->dropout = 0.5;
  at::NoGradGuard no_grad;
  const auto in = base.inputs("one_image");
  const auto eval = model->forward(in);
  EXPECT_LE(max_diff(eval, LoraFixture().get("text.logits")), 1e-5);  // eval mode: no dropout
  {
    policy::TrainingMode training(*model);
    EXPECT_GT(max_diff(model->forward(in), eval), 1e-3);
  }
  EXPECT_FALSE(model->is_training());
  EXPECT_TRUE(at::equal(model->forward(in), eval));
}

TEST(AdapterConfig, WhatVisrlDoesNotImplementIsNamed) {
  const auto dir = fs::temp_directory_path() / "visrl-lora-unsupported";
  fs::remove_all(dir);
  fs::create_directories(dir);
  auto config = read_json_file(lora_dir() / "text" / policy::kAdapterConfig, "config");
  for (const auto& [key, value] : std::vector<std::pair<std::string, nlohmann::json>>{
           {"use_dora", true}, {"bias", "all"}, {"modules_to_save", {"lm_head"}}, {"rank_pattern", {{"q_proj", 8}}}}) {
    auto c = config;
    c[key] = value;
    std::ofstream(dir / policy::kAdapterConfig) << c.dump();
    try {
      policy::read_adapter_spec(dir);
      ADD_FAILURE() << key << " was accepted";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(key), std::string::npos) << e.what();
    }
  }
  // A Hub id as the base cannot be resolved here: the message says what to do instead.
  config["base_model_name_or_path"] = "Qwen/Qwen3-VL-2B-Instruct";
  std::ofstream(dir / policy::kAdapterConfig) << config.dump();
  try {
    policy::load_pretrained(dir);
    ADD_FAILURE() << "a Hub id was accepted as the base";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("model.lora.path"), std::string::npos) << e.what();
  }
  fs::remove_all(dir);
}

TEST(AdapterWeights, AMissingTensorIsNamed) {
  Qwen3VLFixture base("tied");
  const auto dir = fs::temp_directory_path() / "visrl-lora-missing";
  fs::remove_all(dir);
  fs::create_directories(dir);
  fs::copy_file(lora_dir() / "text" / policy::kAdapterConfig, dir / policy::kAdapterConfig);
  const auto peft = safetensors::Checkpoint::open(lora_dir() / "text" / policy::kAdapterWeights);
  safetensors::NamedTensors kept;
  for (const auto& name : peft.names()) {
    if (name.find("layers.2.mlp.down_proj.lora_B") == std::string::npos) kept.emplace_back(name, peft.tensor(name));
  }
  safetensors::save_file(dir / policy::kAdapterWeights, kept);
  auto model = policy::load_pretrained(base.model_dir);
  try {
    policy::load_adapter(*model, dir);
    ADD_FAILURE() << "a missing adapter tensor was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("layers.2.mlp.down_proj.lora_B.weight"), std::string::npos) << e.what();
  }
  fs::remove_all(dir);
}

}  // namespace
}  // namespace visrl::test
