// The Qwen3-VL Instruct chat template (chat_template.json of Qwen/Qwen3-VL-*-Instruct) for the
// messages visrl builds: system / user / assistant turns of text and image parts.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace visrl::policy {

struct ContentPart {
  enum class Kind { text, image } kind = Kind::text;
  std::string text;  // image parts carry no text

  static ContentPart make_text(std::string text) { return ContentPart{Kind::text, std::move(text)}; }
  static ContentPart image() { return ContentPart{Kind::image, {}}; }
};

struct ChatMessage {
  std::string role;  // system | user | assistant
  std::vector<ContentPart> content;
};

inline constexpr std::string_view kImagePad = "<|image_pad|>";

// What HF's apply_chat_template renders with the Qwen3-VL Instruct template (no tools):
// `<|im_start|>{role}\n{content}<|im_end|>\n` per message, image parts of user turns as
// `<|vision_start|><|image_pad|><|vision_end|>`, `<|im_start|>assistant\n` when
// add_generation_prompt. As the template does: there is no default system prompt; a system
// message counts only as the first message and keeps only its text parts (a later one renders
// nothing); assistant turns keep only their text parts. An unknown role is an error.
std::string render_chat(const std::vector<ChatMessage>& messages, bool add_generation_prompt);

// The processor's expansion: the i-th `<|image_pad|>` becomes tokens_per_image[i] copies. A count
// mismatch (or a negative count) throws visrl::Error naming both counts.
std::string expand_image_pads(std::string_view prompt, std::span<const int64_t> tokens_per_image);

}  // namespace visrl::policy
