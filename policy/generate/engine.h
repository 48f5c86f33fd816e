// The rollout engine: G answers for each of B prompts, with continuous batching (as vLLM and
// SGLang do it). A fixed number of decode slots each run one sample; when a sample finishes,
// its slot takes the next pending (prompt, sample) at once, so a step computes only running
// samples and a long answer does not hold the others back. A prompt (image + text) is
// prefilled once, when its first sample starts, and its KV cache is shared by the G samples of
// its group (slot_kv_cache.h); each sample's own cache grows with its answer in steps of
// kv_growth_tokens. Stops on eos ids, stop strings or the token budget; returns token ids,
// per-token log-probs under the sampling distribution and finish reasons.
//
// Randomness: sample g of a prompt draws its t-th token from a random stream of its own,
// keyed by (seed, the prompt's stream key, g), so neither the slots, nor its neighbours, nor
// how the prompts are split across calls or ranks change its random numbers. With
// batch_invariant the numerics do not depend on them either (batch_invariant.h): the same
// samples come out bitwise with any number of slots, prompts per call and threads.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <ATen/ATen.h>

#include "policy/generate/sampling.h"
#include "policy/model/qwen3vl.h"

namespace visrl::policy {

class Tokenizer;

struct PromptInput {
  std::string id;             // names the sample in errors
  at::Tensor input_ids;       // [T] int64, image pads already expanded
  at::Tensor pixel_values;    // [patches, C*T*P*P] or undefined
  at::Tensor image_grid_thw;  // [images, 3] or undefined
  // Keys the prompt's random streams (with the seed and the sample index); -1: its index in
  // the call. The trainer passes the prompt's global index in the step, the same on any rank.
  int64_t stream = -1;
};

enum class FinishReason { stop, length };
const char* finish_reason_name(FinishReason reason);  // "stop" | "length"

struct GeneratedSample {
  int64_t prompt_index = 0;        // which prompt; samples come grouped: prompt 0's G first
  std::vector<int64_t> token_ids;  // generated tokens only, the eos or stop token included
  std::vector<float> logprobs;     // one per token
  FinishReason finish_reason = FinishReason::length;
};

struct GenerateOptions {
  int64_t group_size = 1;  // G samples per prompt
  int64_t max_new_tokens = 256;
  // The samples' own KV cache grows in steps of this many positions (reallocated and copied
  // when full) rather than being allocated for max_new_tokens upfront; a step >=
  // max_new_tokens allocates it all at once. Does not change the tokens sampled.
  int64_t kv_growth_tokens = 256;
  // Samples decoded together (slots); 0 = every sample of the call at once (B * G).
  int64_t decode_slots = 0;
  // Numerics independent of batch composition and thread count (batch_invariant.h): slower,
  // bitwise reproducible across slots, chunking and world sizes.
  bool batch_invariant = false;
  // A per-sample token budget (as vLLM's per-request max_tokens), capped by max_new_tokens;
  // unset = max_new_tokens for all. (prompt index, sample index) -> tokens >= 1.
  std::function<int64_t(int64_t prompt, int64_t sample)> sample_max_new_tokens;
  SamplingParams sampling;
  std::vector<int64_t> eos_token_ids;     // e.g. <|im_end|>, <|endoftext|>
  std::vector<std::string> stop_strings;  // checked on the decoded output (needs a tokenizer)
  int64_t pad_token_id = 0;               // fills left padding of shorter prompts
  uint64_t seed = 0;
  // Never sampled (their logits are set to -inf first). Training suppresses the vision
  // placeholders (<|image_pad|>, <|vision_start|>, ...): an answer holding them could not
  // be scored again, since every image pad must stand for a real image.
  std::vector<int64_t> suppress_token_ids;
  // Called on the calling thread as soon as a sample is complete (its eos or stop string, or
  // the token budget at the end), so that the caller can render and score it while the rest
  // of the batch is still decoding. `row` = prompt_index * group_size + sample.
  std::function<void(int64_t row, const GeneratedSample& sample)> on_finished;
};

struct GenerateStats {
  int64_t kv_cache_bytes = 0;          // the KV cache at its fullest
  int64_t kv_cache_reallocations = 0;  // times the cache grew after its first allocation
  int64_t prefill_tokens = 0;          // prompt tokens prefilled (static engine: padded, B * P)
  int64_t decode_steps = 0;            // forwards of the decode loop
  int64_t decode_rows = 0;             // rows those forwards computed, summed (finished rows included, if any)
  int64_t generated_tokens = 0;        // tokens of the returned samples
};

// Throws visrl::Error naming the prompt id for a prompt that is empty or that does not fit
// the context (prompt + max_new_tokens > max_position_embeddings), and for bad options.
std::vector<GeneratedSample> generate(Qwen3VLImpl& model, const std::vector<PromptInput>& prompts,
                                      const GenerateOptions& options, const Tokenizer* tokenizer = nullptr,
                                      GenerateStats* stats = nullptr);

}  // namespace visrl::policy
