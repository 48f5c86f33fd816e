#include "policy/generate/engine_parts.h"

#include <algorithm>

#include "core/error.h"
#include "policy/tokenizer/tokenizer.h"

namespace visrl::policy {

void check_generate_options(const std::vector<PromptInput>& prompts, const GenerateOptions& o,
                            const Tokenizer* tokenizer, int64_t context, int64_t vocab) {
  validate(o.sampling);
  if (o.group_size < 1) fail(ErrorKind::config, "generate: group_size must be >= 1, got {}", o.group_size);
  if (o.max_new_tokens < 1) fail(ErrorKind::config, "generate: max_new_tokens must be >= 1, got {}", o.max_new_tokens);
  if (o.kv_growth_tokens < 1) {
    fail(ErrorKind::config, "generate: kv_growth_tokens must be >= 1, got {}", o.kv_growth_tokens);
  }
  if (o.decode_slots < 0)
    fail(ErrorKind::config, "generate: decode_slots must be >= 0 (0 = all), got {}", o.decode_slots);
  if (!o.stop_strings.empty() && tokenizer == nullptr) {
    fail(ErrorKind::config, "generate: stop strings need a tokenizer to decode the output");
  }
  for (const auto& s : o.stop_strings) {
    if (s.empty()) fail(ErrorKind::config, "generate: an empty stop string would stop every sample at once");
  }
  for (int64_t id : o.suppress_token_ids) {
    if (id < 0 || id >= vocab) {
      fail(ErrorKind::config, "generate: suppressed token id {} is outside the vocabulary [0, {})", id, vocab);
    }
  }
  for (const auto& p : prompts) {
    if (!p.input_ids.defined() || p.input_ids.dim() != 1 || p.input_ids.numel() == 0) {
      fail(ErrorKind::runtime, "prompt {}: input_ids must be a non-empty 1-D tensor", p.id);
    }
    if (p.input_ids.numel() + o.max_new_tokens > context) {
      fail(ErrorKind::runtime,
           "prompt {}: {} prompt tokens + max_new_tokens {} exceed the model's context of {} tokens", p.id,
           p.input_ids.numel(), o.max_new_tokens, context);
    }
  }
}

bool hits_stop(const std::vector<int64_t>& tokens, const GenerateOptions& o, const Tokenizer* tokenizer) {
  if (std::find(o.eos_token_ids.begin(), o.eos_token_ids.end(), tokens.back()) != o.eos_token_ids.end()) return true;
  size_t longest_stop = 0;
  for (const auto& s : o.stop_strings) longest_stop = std::max(longest_stop, s.size());
  if (longest_stop == 0) return false;
  // A stop string of n bytes lies within the last n tokens (every token is >= 1 byte).
  const size_t tail = std::min(tokens.size(), longest_stop);
  std::vector<int32_t> tail_ids;  // ids past the tokenizer (padded embeddings) decode to nothing
  for (auto it = tokens.end() - static_cast<std::ptrdiff_t>(tail); it != tokens.end(); ++it) {
    if (tokenizer->has_id(static_cast<int32_t>(*it))) tail_ids.push_back(static_cast<int32_t>(*it));
  }
  const auto text = tokenizer->decode(tail_ids, false);
  for (const auto& s : o.stop_strings) {
    if (text.find(s) != std::string::npos) return true;
  }
  return false;
}

at::Tensor occurrences(const at::Tensor& ids, const at::Tensor& valid, int64_t vocab) {
  return at::zeros({ids.size(0), vocab}, ids.options().dtype(at::kInt)).scatter_add_(1, ids, valid.to(at::kInt)) > 0;
}

}  // namespace visrl::policy
