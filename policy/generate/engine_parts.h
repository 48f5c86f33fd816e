// What the two rollout engines (engine.h, static_engine.h) share: option checks, stop
// detection and the prompt-token occurrence mask of the repetition penalty.
#pragma once

#include <cstdint>
#include <vector>

#include <ATen/ATen.h>

#include "policy/generate/engine.h"

namespace visrl::policy {

// Throws visrl::Error naming the prompt id for a prompt that is empty or that does not fit
// the context (prompt + max_new_tokens > context), and naming the option for bad options
// (a suppressed token id outside [0, vocab) among them).
void check_generate_options(const std::vector<PromptInput>& prompts, const GenerateOptions& options,
                            const Tokenizer* tokenizer, int64_t context, int64_t vocab);

// Does the answer end here: its last token an eos id, or a stop string in its decoded tail?
bool hits_stop(const std::vector<int64_t>& token_ids, const GenerateOptions& options, const Tokenizer* tokenizer);

// [R, V] bool: which vocabulary entries occur in each row's `ids` [R, T] where `valid`.
at::Tensor occurrences(const at::Tensor& ids, const at::Tensor& valid, int64_t vocab);

}  // namespace visrl::policy
