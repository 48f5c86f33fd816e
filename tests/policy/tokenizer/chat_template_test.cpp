// render_chat against HF apply_chat_template with the Qwen3-VL Instruct template, and the
// image pad expansion.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/error.h"
#include "policy/tokenizer/chat_template.h"
#include "policy/tokenizer/tokenizer.h"
#include "tests/policy/tokenizer/fixtures.h"

namespace visrl::policy {
namespace {

using ::testing::HasSubstr;

std::vector<ChatMessage> messages_from_json(const nlohmann::json& list) {
  std::vector<ChatMessage> out;
  for (const auto& m : list) {
    ChatMessage msg;
    msg.role = m["role"].get<std::string>();
    if (m["content"].is_string()) {
      msg.content.push_back(ContentPart::make_text(m["content"].get<std::string>()));
    } else {
      for (const auto& part : m["content"]) {
        if (part["type"] == "image") {
          msg.content.push_back(ContentPart::image());
        } else {
          msg.content.push_back(ContentPart::make_text(part["text"].get<std::string>()));
        }
      }
    }
    out.push_back(std::move(msg));
  }
  return out;
}

TEST(ChatTemplate, EqualsHfApplyChatTemplate) {
  const auto rows = test::read_jsonl(test::fixture_dir() / "chat_template.jsonl");
  ASSERT_GE(rows.size(), 10u);
  for (size_t i = 0; i < rows.size(); ++i) {
    const auto messages = messages_from_json(rows[i]["messages"]);
    EXPECT_EQ(render_chat(messages, rows[i]["add_generation_prompt"].get<bool>()), rows[i]["text"].get<std::string>())
        << "conversation " << i;
  }
}

TEST(ChatTemplate, NoDefaultSystemPrompt) {
  const std::vector<ChatMessage> m = {{"user", {ContentPart::image(), ContentPart::make_text("TEXT")}}};
  EXPECT_EQ(render_chat(m, true),
            "<|im_start|>user\n<|vision_start|><|image_pad|><|vision_end|>TEXT<|im_end|>\n<|im_start|>assistant\n");
}

TEST(ChatTemplate, UnknownRoleIsAnError) {
  const std::vector<ChatMessage> m = {{"tool", {ContentPart::make_text("x")}}};
  EXPECT_THROW(render_chat(m, false), Error);
}

TEST(ChatTemplate, RenderedPromptTokenizesToTheReferenceIds) {
  const auto tok = Tokenizer::from_file(test::fixture_dir() / "tiny/tokenizer.json");
  const std::vector<ChatMessage> m = {{"user", {ContentPart::image(), ContentPart::make_text("hi")}}};
  const std::vector<int64_t> counts = {3};
  const auto ids = tok.encode(expand_image_pads(render_chat(m, true), counts));
  const int32_t pad = *tok.token_to_id("<|image_pad|>");
  EXPECT_EQ(std::count(ids.begin(), ids.end(), pad), 3);
  EXPECT_EQ(ids.front(), *tok.token_to_id("<|im_start|>"));
}

TEST(ExpandImagePads, RepeatsEachPadByItsCount) {
  const std::string prompt = "a<|image_pad|>b<|image_pad|>c";
  const std::vector<int64_t> counts = {2, 3};
  EXPECT_EQ(expand_image_pads(prompt, counts), "a<|image_pad|><|image_pad|>b<|image_pad|><|image_pad|><|image_pad|>c");
  const std::vector<int64_t> zero = {0, 1};
  EXPECT_EQ(expand_image_pads(prompt, zero), "ab<|image_pad|>c");
  EXPECT_EQ(expand_image_pads("no images", std::vector<int64_t>{}), "no images");
}

TEST(ExpandImagePads, CountMismatchNamesBothCounts) {
  const std::vector<int64_t> counts = {4, 4, 4};
  try {
    expand_image_pads("x<|image_pad|>y<|image_pad|>", counts);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("has 2 <|image_pad|>"));
    EXPECT_THAT(e.what(), HasSubstr("3 image token counts"));
  }
  const std::vector<int64_t> negative = {-1};
  EXPECT_THROW(expand_image_pads("<|image_pad|>", negative), Error);
}

}  // namespace
}  // namespace visrl::policy
