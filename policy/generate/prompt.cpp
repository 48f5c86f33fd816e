#include "policy/generate/prompt.h"

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/json_file.h"
#include "policy/model/lora_checkpoint.h"

namespace visrl::policy {
namespace fs = std::filesystem;

PolicyAssets PolicyAssets::load(const fs::path& model_dir) {
  // A PEFT adapter directory usually holds no tokenizer: its base's is the policy's.
  const fs::path dir =
      is_adapter_dir(model_dir) && !fs::exists(model_dir / "tokenizer.json") ? adapter_base_dir(model_dir) : model_dir;
  PolicyAssets assets{Tokenizer::from_file(dir / "tokenizer.json"), {}, {}, 0};
  // transformers 4.x writes preprocessor_config.json, 5.x nests it in processor_config.json.
  for (const char* name : {"preprocessor_config.json", "processor_config.json"}) {
    if (fs::exists(dir / name)) {
      assets.image_processor = ImageProcessorConfig::from_file(dir / name);
      break;
    }
  }
  const auto& tok = assets.tokenizer;
  if (fs::exists(dir / "generation_config.json")) {
    const auto g = read_json_file(dir / "generation_config.json", "the generation config");
    try {
      if (auto eos = g.find("eos_token_id"); eos != g.end()) {
        if (eos->is_array()) {
          assets.eos_token_ids = eos->get<std::vector<int64_t>>();
        } else if (eos->is_number_integer()) {
          assets.eos_token_ids = {eos->get<int64_t>()};
        }
      }
      if (auto pad = g.find("pad_token_id"); pad != g.end() && pad->is_number_integer()) {
        assets.pad_token_id = pad->get<int64_t>();
      }
    } catch (const nlohmann::json::exception& e) {
      fail(ErrorKind::format, "{}: {}", (dir / "generation_config.json").string(), e.what());
    }
  }
  if (assets.eos_token_ids.empty()) {
    for (const char* token : {"<|im_end|>", "<|endoftext|>"}) {
      if (auto id = tok.token_to_id(token)) assets.eos_token_ids.push_back(*id);
    }
  }
  if (assets.pad_token_id == 0) {
    if (auto id = tok.token_to_id("<|endoftext|>")) assets.pad_token_id = *id;
  }
  return assets;
}

PromptInput build_prompt(const PolicyAssets& assets, const std::vector<ChatMessage>& messages,
                         const std::vector<at::Tensor>& images, std::string id) {
  std::vector<int64_t> counts;
  std::vector<at::Tensor> pixels;
  std::vector<at::Tensor> grids;
  for (size_t i = 0; i < images.size(); ++i) {
    ProcessedImage processed;
    try {
      processed = process_image(images[i], assets.image_processor);
    } catch (const Error& e) {
      throw e.with_context(fmt::format("sample {}: image {}", id, i));
    }
    counts.push_back(processed.num_tokens(assets.image_processor.merge_size));
    pixels.push_back(processed.pixel_values);
    grids.push_back(at::tensor(std::vector<int64_t>(processed.grid_thw.begin(), processed.grid_thw.end()), at::kLong));
  }
  std::string text;
  try {
    text = expand_image_pads(render_chat(messages, /*add_generation_prompt=*/true), counts);
  } catch (const Error& e) {
    throw e.with_context(fmt::format("sample {}", id));
  }
  auto ids = assets.tokenizer.encode(text);
  PromptInput prompt;
  prompt.id = std::move(id);
  prompt.input_ids = at::tensor(std::vector<int64_t>(ids.begin(), ids.end()), at::kLong);
  if (!pixels.empty()) {
    prompt.pixel_values = at::cat(pixels);
    prompt.image_grid_thw = at::stack(grids);
  }
  return prompt;
}

PromptInput build_prompt(const PolicyAssets& assets, const std::string& text, const std::vector<at::Tensor>& images,
                         std::string id) {
  ChatMessage user{"user", {}};
  for (size_t i = 0; i < images.size(); ++i) user.content.push_back(ContentPart::image());
  user.content.push_back(ContentPart::make_text(text));
  return build_prompt(assets, {user}, images, std::move(id));
}

}  // namespace visrl::policy
