#include "policy/tokenizer/chat_template.h"

#include "core/error.h"

namespace visrl::policy {
namespace {

constexpr std::string_view kVisionImage = "<|vision_start|><|image_pad|><|vision_end|>";

void append_parts(std::string& out, const ChatMessage& m, bool images) {
  for (const ContentPart& part : m.content) {
    if (part.kind == ContentPart::Kind::text) {
      out += part.text;
    } else if (images) {
      out += kVisionImage;
    }
  }
}

}  // namespace

std::string render_chat(const std::vector<ChatMessage>& messages, bool add_generation_prompt) {
  std::string out;
  for (size_t i = 0; i < messages.size(); ++i) {
    const ChatMessage& m = messages[i];
    if (m.role != "system" && m.role != "user" && m.role != "assistant") {
      fail(ErrorKind::runtime, "chat message {}: unknown role '{}' (expected system, user or assistant)", i, m.role);
    }
    // The template renders a system message only in first position, and only its text.
    if (m.role == "system" && i != 0) continue;
    out += "<|im_start|>";
    out += m.role;
    out += '\n';
    append_parts(out, m, m.role == "user");
    out += "<|im_end|>\n";
  }
  if (add_generation_prompt) out += "<|im_start|>assistant\n";
  return out;
}

std::string expand_image_pads(std::string_view prompt, std::span<const int64_t> tokens_per_image) {
  size_t pads = 0;
  for (size_t pos = prompt.find(kImagePad); pos != std::string_view::npos;
       pos = prompt.find(kImagePad, pos + kImagePad.size())) {
    ++pads;
  }
  if (pads != tokens_per_image.size()) {
    fail(ErrorKind::runtime, "expand_image_pads: the prompt has {} {} but {} image token counts were given", pads,
         kImagePad, tokens_per_image.size());
  }
  size_t total = prompt.size();
  for (size_t i = 0; i < tokens_per_image.size(); ++i) {
    if (tokens_per_image[i] < 0) {
      fail(ErrorKind::runtime, "expand_image_pads: image {} has a negative token count {}", i, tokens_per_image[i]);
    }
    total += static_cast<size_t>(tokens_per_image[i]) * kImagePad.size();
  }
  std::string out;
  out.reserve(total);
  size_t image = 0, last = 0;
  for (size_t pos = prompt.find(kImagePad); pos != std::string_view::npos; pos = prompt.find(kImagePad, last)) {
    out += prompt.substr(last, pos - last);
    for (int64_t k = 0; k < tokens_per_image[image]; ++k) out += kImagePad;
    ++image;
    last = pos + kImagePad.size();
  }
  out += prompt.substr(last);
  return out;
}

}  // namespace visrl::policy
