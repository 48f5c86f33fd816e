// Supervised examples: an item's prompt (image + task instruction, as the policy sees it in
// GRPO) and, as the target, its ground truth in the code block the instruction asks for,
// followed by the end-of-turn token.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "policy/generate/prompt.h"
#include "trainer/data/instructions.h"
#include "trainer/data/manifest.h"
#include "trainer/loop/prepared_prompt.h"

namespace visrl::trainer {

// ```python for charts, ```markdown or ```html (an HTML table) for tables, ```svg for SVG.
std::string sft_answer(render::RenderKind task, const std::string& code);

// <|im_end|> when the tokenizer has it (the chat template's end of an assistant turn), else
// the first eos id.
int64_t end_of_turn_id(const policy::PolicyAssets& assets);

// Throws Error(format) naming the item (file:line and id) when it has no ground truth.
void require_ground_truth(const DataItem& item);

struct SftExample {
  PreparedPrompt prompt;
  std::vector<int64_t> answer;  // sft_answer's tokens + end of turn
};

// Throws Error naming the item (file:line and id) when it has no ground truth or its answer
// is longer than max_answer_tokens.
SftExample make_sft_example(const DataItem& item, const policy::PolicyAssets& assets,
                            const TaskInstructions& instructions, int64_t max_prompt_tokens, int64_t max_answer_tokens);

}  // namespace visrl::trainer
