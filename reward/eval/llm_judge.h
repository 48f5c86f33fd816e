// An LLM judge for VC-RewardBench matching, through an OpenAI-compatible chat-completions
// server (the reward.openai endpoints): for each item and error type that has both predicted
// and human errors, the judge is shown both numbered lists and answers which pairs describe
// the same discrepancy ("yes") or partly the same ("partial"), one-to-one. Its reply is
// checked (indices in range, each error used once, a known level); a group whose every attempt
// fails falls back to the built-in matcher and is counted.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "reward/eval/error_matcher.h"

namespace visrl::reward::eval {

struct JudgeOptions {
  std::vector<std::string> endpoints;  // base URLs; POST {base}/chat/completions
  std::string model;
  std::string api_key_env;  // "" = no Authorization header
  double timeout_s = 120;
  int64_t max_retries = 3;  // further attempts per group after a failed request or a bad reply
  int64_t max_concurrency = 8;
  int64_t max_tokens = 1024;
};

// One item's errors of one type.
struct JudgeGroup {
  std::string item_id;
  std::string type;
  std::vector<CriticError> predicted;
  std::vector<HumanError> human;
};

struct JudgeOutcome {
  std::vector<ErrorMatch> matches;  // indices into the group's lists
  bool judged = false;              // false: the built-in matcher decided (every attempt failed)
  std::string failure;              // the last failure when not judged
};

// The user message for one group.
std::string judge_prompt(const JudgeGroup& group);

// The judge's answer: a JSON object {"matches": [{"predicted": i, "human": j, "level":
// "yes"|"partial"}]} (1-based indices), alone or inside text or a ```json block. nullopt with
// `why` set when it is not that, an index is out of range or an error is matched twice.
std::optional<std::vector<ErrorMatch>> parse_judge_reply(std::string_view text, size_t predicted, size_t human,
                                                         std::string* why);

// One outcome per group, in order. Throws Error(config) for bad options (no endpoint, an unset
// api_key_env variable).
std::vector<JudgeOutcome> judge_groups(const std::vector<JudgeGroup>& groups, const JudgeOptions& options,
                                       const MatcherOptions& fallback);

}  // namespace visrl::reward::eval
