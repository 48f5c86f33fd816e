// From a chat (text and images) to the engine's input, the way Qwen3VLProcessor does it:
// render the chat template, process every image, expand each <|image_pad|> to the image's
// token count, tokenize.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include <ATen/ATen.h>

#include "policy/generate/engine.h"
#include "policy/image/image_processor.h"
#include "policy/tokenizer/chat_template.h"
#include "policy/tokenizer/tokenizer.h"

namespace visrl::policy {

// What a policy checkpoint directory brings besides the weights.
struct PolicyAssets {
  Tokenizer tokenizer;
  ImageProcessorConfig image_processor;  // preprocessor_config.json, or Qwen3-VL's defaults
  std::vector<int64_t> eos_token_ids;    // generation_config.json, else <|im_end|> and <|endoftext|>
  int64_t pad_token_id = 0;

  // From a PEFT adapter directory without a tokenizer, its base's. Throws visrl::Error naming
  // the file when tokenizer.json is missing or unreadable.
  static PolicyAssets load(const std::filesystem::path& model_dir);
};

// images: uint8 [H, W, 3], in the order of the image parts of `messages`.
PromptInput build_prompt(const PolicyAssets& assets, const std::vector<ChatMessage>& messages,
                         const std::vector<at::Tensor>& images, std::string id);

// The common case: one user turn of optional images then text, with the generation prompt.
PromptInput build_prompt(const PolicyAssets& assets, const std::string& text, const std::vector<at::Tensor>& images,
                         std::string id);

}  // namespace visrl::policy
