// The whole input path (chat template, image processor, pad expansion, tokenizer, MRoPE
// positions) against transformers' Qwen3VLProcessor + get_rope_index on the model fixtures.
#include <gtest/gtest.h>

#include "core/error.h"
#include "policy/generate/prompt.h"
#include "policy/generate/positions.h"
#include "tests/policy/model/model_fixture.h"

namespace visrl::test {
namespace {

using namespace visrl::policy;

at::Tensor image(const std::string& name) { return read_image(qwen3vl_fixture_dir() / "images" / (name + ".png")); }

TEST(BuildPrompt, EqualsTransformersProcessorAndRopeIndex) {
  Qwen3VLFixture fx("tied");
  auto assets = PolicyAssets::load(fx.model_dir);
  auto config = Qwen3VLConfig::from_file(fx.model_dir / "config.json");

  std::vector<std::pair<std::string, PromptInput>> cases;
  cases.emplace_back("text", build_prompt(assets, "Write matplotlib code for a bar chart.", {}, "text"));
  cases.emplace_back("one_image", build_prompt(assets, "Reproduce this chart as code.", {image("a")}, "one_image"));
  std::vector<ChatMessage> two = {
      {"system", {ContentPart::make_text("You write code.")}},
      {"user",
       {ContentPart::image(), ContentPart::make_text("and"), ContentPart::image(), ContentPart::make_text("differ how?")}}};
  cases.emplace_back("two_images", build_prompt(assets, two, {image("b"), image("c")}, "two_images"));

  for (const auto& [name, prompt] : cases) {
    auto expected = fx.inputs(name);
    ASSERT_TRUE(at::equal(prompt.input_ids, expected.input_ids[0])) << name;
    if (expected.pixel_values.defined()) {
      ASSERT_TRUE(prompt.pixel_values.defined()) << name;
      EXPECT_TRUE(at::equal(prompt.pixel_values, expected.pixel_values)) << name << ": pixel_values differ";
      EXPECT_TRUE(at::equal(prompt.image_grid_thw, expected.image_grid_thw)) << name;
    }
    auto ids = prompt.input_ids.unsqueeze(0);
    auto positions = batch_positions(config, ids, at::ones(ids.sizes(), at::kBool), prompt.image_grid_thw);
    EXPECT_TRUE(at::equal(positions.position_ids, expected.position_ids)) << name << ": position ids differ";
  }
  EXPECT_EQ(assets.eos_token_ids, (std::vector<int64_t>{2002, 2000}));
}

// A PEFT adapter directory (peft writes no tokenizer there) stands for its base's assets.
TEST(PolicyAssets, AnAdapterDirectoryWithoutATokenizerTakesItsBases) {
  const auto base = PolicyAssets::load(qwen3vl_fixture_dir() / "tied");
  const auto adapter = PolicyAssets::load(source_dir() / "tests/fixtures/lora/text");  // base: ../../qwen3vl/tied
  const std::string text = "Reproduce this chart as code.";
  EXPECT_EQ(adapter.tokenizer.encode(text), base.tokenizer.encode(text));
  EXPECT_EQ(adapter.eos_token_ids, base.eos_token_ids);
  EXPECT_EQ(adapter.pad_token_id, base.pad_token_id);
  EXPECT_EQ(adapter.image_processor.max_pixels, base.image_processor.max_pixels);
}

TEST(BuildPrompt, BadImagesNameTheSample) {
  auto assets = PolicyAssets::load(qwen3vl_fixture_dir() / "tied");
  auto thin = at::zeros({2, 500, 3}, at::kByte);  // aspect ratio 250
  try {
    build_prompt(assets, "hi", {thin}, "sample-17");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("sample-17"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("aspect ratio"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace visrl::test
