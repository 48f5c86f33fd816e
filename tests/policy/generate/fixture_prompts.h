// The Qwen3-VL fixture's prompts (tests/policy/model/model_fixture.h) as the engine's inputs.
#pragma once

#include <string>
#include <vector>

#include "policy/generate/engine.h"
#include "tests/policy/model/model_fixture.h"

namespace visrl::test {

inline policy::PromptInput fixture_prompt(const Qwen3VLFixture& fx, const std::string& name) {
  auto in = fx.inputs(name);
  return {name, in.input_ids[0], in.pixel_values, in.image_grid_thw};
}

// Every prompt of kPrompts, in order: different lengths, with and without images.
inline std::vector<policy::PromptInput> all_prompts(const Qwen3VLFixture& fx) {
  std::vector<policy::PromptInput> prompts;
  for (const char* name : kPrompts) prompts.push_back(fixture_prompt(fx, name));
  return prompts;
}

}  // namespace visrl::test
