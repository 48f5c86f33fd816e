// The rollout engine before continuous batching, kept for comparison (the long-tail
// benchmark, bench/policy/longtail_bench.cpp): all B*G samples decode together until the
// last one finishes, finished rows still computed; prompts left-padded and prefilled
// together; one random generator shared by the batch, so a sample depends on its
// neighbours. Ignores decode_slots, batch_invariant and PromptInput::stream; a sample that
// spends its sample_max_new_tokens stops there (its row still decoded until the batch ends).
#pragma once

#include "policy/generate/engine.h"

namespace visrl::policy {

std::vector<GeneratedSample> generate_static(Qwen3VLImpl& model, const std::vector<PromptInput>& prompts,
                                             const GenerateOptions& options, const Tokenizer* tokenizer = nullptr,
                                             GenerateStats* stats = nullptr);

}  // namespace visrl::policy
