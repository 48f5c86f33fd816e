#include "trainer/sft/sft_data.h"

#include <fmt/format.h>

#include "core/error.h"

namespace visrl::trainer {

std::string sft_answer(render::RenderKind task, const std::string& code) {
  std::string body = code;
  while (!body.empty() && (body.back() == '\n' || body.back() == ' ')) body.pop_back();
  const char* fence = "python";
  if (task == render::RenderKind::svg) fence = "svg";
  if (task == render::RenderKind::table) {
    const auto start = body.find_first_not_of(" \t\n");
    fence = start != std::string::npos && body.compare(start, 6, "<table") == 0 ? "html" : "markdown";
  }
  return fmt::format("```{}\n{}\n```", fence, body);
}

int64_t end_of_turn_id(const policy::PolicyAssets& assets) {
  if (const auto id = assets.tokenizer.token_to_id("<|im_end|>")) return *id;
  if (assets.eos_token_ids.empty()) fail(ErrorKind::format, "the policy has neither <|im_end|> nor an eos token id");
  return assets.eos_token_ids.front();
}

void require_ground_truth(const DataItem& item) {
  if (!item.ground_truth) {
    fail(ErrorKind::format, "{} ({}): no ground_truth, which supervised fine-tuning trains on", item.where, item.id);
  }
}

SftExample make_sft_example(const DataItem& item, const policy::PolicyAssets& assets,
                            const TaskInstructions& instructions, int64_t max_prompt_tokens,
                            int64_t max_answer_tokens) {
  require_ground_truth(item);
  SftExample ex;
  ex.prompt = prepare_prompt(item, assets, instructions, max_prompt_tokens);
  for (const auto id : assets.tokenizer.encode(sft_answer(item.task, *item.ground_truth))) ex.answer.push_back(id);
  ex.answer.push_back(end_of_turn_id(assets));
  if (static_cast<int64_t>(ex.answer.size()) > max_answer_tokens) {
    fail(ErrorKind::format, "{} ({}): the answer has {} tokens, more than --max-answer-tokens {}", item.where, item.id,
         ex.answer.size(), max_answer_tokens);
  }
  return ex;
}

}  // namespace visrl::trainer
