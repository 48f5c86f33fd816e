#include "policy/generate/sampling.h"

#include <limits>

#include "core/error.h"
#include "core/random.h"

namespace visrl::policy {

void validate(const SamplingParams& p) {
  if (!p.greedy && !(p.temperature > 0)) fail(ErrorKind::config, "sampling.temperature: must be > 0, got {}", p.temperature);
  if (p.top_k < 0) fail(ErrorKind::config, "sampling.top_k: must be >= 0 (0 = off), got {}", p.top_k);
  if (!(p.top_p > 0 && p.top_p <= 1)) fail(ErrorKind::config, "sampling.top_p: must be in (0, 1], got {}", p.top_p);
  if (!(p.min_p >= 0 && p.min_p < 1)) fail(ErrorKind::config, "sampling.min_p: must be in [0, 1), got {}", p.min_p);
  if (!(p.repetition_penalty > 0)) {
    fail(ErrorKind::config, "sampling.repetition_penalty: must be > 0, got {}", p.repetition_penalty);
  }
}

at::Tensor process_logits(const at::Tensor& logits, const SamplingParams& p, const at::Tensor& seen,
                          const at::Tensor& generated) {
  const double neg_inf = -std::numeric_limits<double>::infinity();
  auto x = logits;
  if (p.uses_repetition()) {
    auto penalised = at::where(x < 0, x * p.repetition_penalty, x / p.repetition_penalty);
    x = at::where(seen, penalised, x);
  }
  if (p.uses_presence()) x = x - generated.to(x.scalar_type()) * p.presence_penalty;
  if (p.greedy) return x;
  if (p.temperature != 1.0) x = x / p.temperature;
  if (p.top_k > 0 && p.top_k < x.size(-1)) {
    auto kth = std::get<0>(x.topk(p.top_k, -1)).narrow(-1, p.top_k - 1, 1);  // [R, 1]
    x = x.masked_fill(x < kth, neg_inf);
  }
  if (p.top_p < 1.0) {
    // Drop the least likely tokens whose cumulative probability stays within 1 - top_p,
    // always keeping the most likely one (transformers' TopPLogitsWarper).
    auto [sorted, order] = x.sort(-1, /*descending=*/false);
    auto cumulative = sorted.softmax(-1).cumsum(-1);
    auto drop_sorted = cumulative <= (1.0 - p.top_p);
    drop_sorted.narrow(-1, x.size(-1) - 1, 1).fill_(false);
    auto drop = at::zeros_like(drop_sorted).scatter(-1, order, drop_sorted);
    x = x.masked_fill(drop, neg_inf);
  }
  if (p.min_p > 0.0) {
    auto probs = x.softmax(-1);
    auto threshold = std::get<0>(probs.max(-1, true)) * p.min_p;  // [R, 1]
    x = x.masked_fill(probs < threshold, neg_inf);
  }
  return x;
}

Picked pick_tokens(const at::Tensor& processed, bool greedy, at::Generator& generator) {
  auto logprobs = processed.log_softmax(-1);  // [R, V]
  at::Tensor tokens;
  if (greedy) {
    tokens = processed.argmax(-1);
  } else {
    tokens = at::multinomial(logprobs.exp(), 1, /*replacement=*/false, generator).squeeze(-1);
  }
  return {tokens, logprobs.gather(-1, tokens.unsqueeze(-1)).squeeze(-1)};
}

Picked pick_tokens(const at::Tensor& processed, bool greedy, const at::Tensor& uniforms) {
  auto logprobs = processed.log_softmax(-1);  // [R, V]
  at::Tensor tokens;
  if (greedy) {
    tokens = processed.argmax(-1);
  } else {
    const int64_t V = processed.size(-1);
    auto probs = logprobs.exp();                                                       // [R, V]
    auto cdf = probs.cumsum(-1, at::kDouble);                                          // [R, V]
    auto target = uniforms.to(cdf.device()).view({-1, 1}) * cdf.narrow(-1, V - 1, 1);  // [R, 1]
    tokens = (cdf <= target).sum(-1);  // the first index with cdf > target
    // Rounding can put the target at the total: take the last token that has probability.
    auto last_possible = (probs > 0).flip(-1).to(at::kFloat).argmax(-1);  // [R], counted from the end
    tokens = at::minimum(tokens, (V - 1) - last_possible);
  }
  return {tokens, logprobs.gather(-1, tokens.unsqueeze(-1)).squeeze(-1)};
}

uint64_t sample_stream(uint64_t seed, int64_t prompt_key, int64_t sample) {
  return mix_seed(mix_seed(mix_seed(seed) ^ static_cast<uint64_t>(prompt_key)) ^ static_cast<uint64_t>(sample));
}

double stream_uniform(uint64_t stream, int64_t t) {
  return static_cast<double>(mix_seed(stream ^ mix_seed(static_cast<uint64_t>(t))) >> 11) * 0x1.0p-53;
}

}  // namespace visrl::policy
