// Turning next-token logits into a sampled token: the logits processors of Hugging Face
// generate / vLLM as pure tensor functions, applied in transformers' order:
//   repetition penalty -> presence penalty -> temperature -> top-k -> top-p -> min-p.
#pragma once

#include <cstdint>

#include <ATen/ATen.h>

namespace visrl::policy {

struct SamplingParams {
  bool greedy = false;              // argmax; the other warpers are then irrelevant
  double temperature = 1.0;         // > 0
  int64_t top_k = 0;                // 0 = off
  double top_p = 1.0;               // (0, 1]; 1 = off
  double min_p = 0.0;               // [0, 1); 0 = off
  double repetition_penalty = 1.0;  // HF: seen tokens' logits divided (if > 0) or multiplied (if < 0)
  double presence_penalty = 0.0;    // vLLM/OpenAI: minus this for every token already generated

  bool uses_repetition() const { return repetition_penalty != 1.0; }
  bool uses_presence() const { return presence_penalty != 0.0; }
};

// Throws visrl::Error naming the field when a value is out of range.
void validate(const SamplingParams& params);

// logits [R, V] float32 -> processed logits [R, V] (filtered tokens are -inf).
// seen [R, V] bool: tokens of the prompt and the output so far (repetition penalty);
// generated [R, V] bool: tokens of the output so far (presence penalty). Either may be
// undefined when its penalty is off.
at::Tensor process_logits(const at::Tensor& logits, const SamplingParams& params, const at::Tensor& seen,
                          const at::Tensor& generated);

struct Picked {
  at::Tensor tokens;    // [R] int64
  at::Tensor logprobs;  // [R] float32: log-probability of the token under the processed distribution
};

// Samples one token per row from processed logits (argmax when greedy).
Picked pick_tokens(const at::Tensor& processed, bool greedy, at::Generator& generator);

// The same with one given uniform number per row, uniforms [R] float64 in [0, 1): the token
// is the first whose cumulative probability exceeds u (inverse-CDF sampling), so a row's
// token depends on its logits and its own u alone.
Picked pick_tokens(const at::Tensor& processed, bool greedy, const at::Tensor& uniforms);

// Per-sample random streams (counter-based, splitmix64): the stream of sample `sample` of a
// prompt keyed `prompt_key`, and its t-th uniform number in [0, 1) (53 random bits).
uint64_t sample_stream(uint64_t seed, int64_t prompt_key, int64_t sample);
double stream_uniform(uint64_t stream, int64_t t);

}  // namespace visrl::policy
