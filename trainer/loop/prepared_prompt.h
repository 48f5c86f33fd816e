// A data item made ready for the policy and the critic: the chat prompt (image processed,
// image pads expanded, tokenized) and the reference image as RGB pixels.
#pragma once

#include <memory>

#include "policy/generate/prompt.h"
#include "render/render_types.h"
#include "trainer/data/instructions.h"
#include "trainer/data/manifest.h"

namespace visrl::trainer {

struct PreparedPrompt {
  const DataItem* item = nullptr;
  policy::PromptInput input;                          // input_ids [P], pixel_values, grid
  std::shared_ptr<const render::RgbImage> reference;  // what the answer must reproduce
};

// Throws Error naming the item (its manifest file:line and id) when the image cannot be
// read or the prompt is longer than max_prompt_tokens.
PreparedPrompt prepare_prompt(const DataItem& item, const policy::PolicyAssets& assets,
                              const TaskInstructions& instructions, int64_t max_prompt_tokens);

}  // namespace visrl::trainer
