#include "policy/generate/static_engine.h"

#include <algorithm>
#include <limits>

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/detail/CUDAHooksInterface.h>
#include <c10/core/InferenceMode.h>

#include "core/error.h"
#include "policy/generate/engine_parts.h"
#include "policy/generate/positions.h"
#include "policy/tokenizer/tokenizer.h"

namespace visrl::policy {
namespace {

at::Generator make_generator(const at::Device& device, uint64_t seed) {
  at::Generator generator = device.is_cuda() ? at::detail::getCUDAHooks().getNewGenerator(device.index())
                                             : at::detail::createCPUGenerator(seed);
  generator.set_current_seed(seed);
  return generator;
}

}  // namespace

std::vector<GeneratedSample> generate_static(Qwen3VLImpl& model, const std::vector<PromptInput>& prompts,
                                             const GenerateOptions& o, const Tokenizer* tokenizer,
                                             GenerateStats* stats) {
  const auto& cfg = model.config;
  check_generate_options(prompts, o, tokenizer, cfg.text.max_position_embeddings, cfg.text.vocab_size);
  if (prompts.empty()) return {};
  c10::InferenceMode inference;
  const auto device = model.device();
  const auto dtype = model.dtype();
  const int64_t B = static_cast<int64_t>(prompts.size()), G = o.group_size, R = B * G;
  const int64_t V = cfg.text.vocab_size;

  // Left-pad the prompts to the longest: [B, P].
  std::vector<int64_t> lengths;
  for (const auto& p : prompts) lengths.push_back(p.input_ids.numel());
  const int64_t P = *std::max_element(lengths.begin(), lengths.end());
  auto ids = at::full({B, P}, o.pad_token_id, at::kLong);
  auto valid = at::zeros({B, P}, at::kBool);
  std::vector<at::Tensor> pixels, grids;
  for (int64_t b = 0; b < B; ++b) {
    ids[b].narrow(0, P - lengths[b], lengths[b]).copy_(prompts[b].input_ids);
    valid[b].narrow(0, P - lengths[b], lengths[b]).fill_(true);
    if (prompts[b].pixel_values.defined()) {
      pixels.push_back(prompts[b].pixel_values);
      grids.push_back(prompts[b].image_grid_thw.to(at::kLong));
    }
  }
  MropePositions positions;
  try {
    positions = batch_positions(cfg, ids, valid, grids.empty() ? at::Tensor() : at::cat(grids));
  } catch (const Error& e) {
    std::string names;
    for (const auto& p : prompts) names += (names.empty() ? "" : ", ") + p.id;
    throw e.with_context(fmt::format("prompts [{}]", names));
  }

  // Prefill every prompt once; its keys/values become the group's shared prompt cache.
  KVCache cache;
  cache.layers.resize(cfg.text.num_hidden_layers);
  AttentionContext prefill{AttentionContext::Mode::prefill, padded_causal_mask(valid), &cache};
  if (prefill.mask.defined()) prefill.mask = prefill.mask.to(device);
  ModelInputs inputs{ids.to(device), positions.position_ids.to(device),
                     pixels.empty() ? at::Tensor() : at::cat(pixels).to(device),
                     grids.empty() ? at::Tensor() : at::cat(grids)};
  auto hidden = model.hidden_states(inputs, prefill);                  // [B, P, H]
  auto logits = model.logits(hidden.select(1, P - 1)).to(at::kFloat);  // [B, V]
  cache.prompt_bias =
      at::zeros({B, 1, 1, P}, at::TensorOptions().dtype(dtype).device(device))
          .masked_fill(valid.logical_not().view({B, 1, 1, P}).to(device), -std::numeric_limits<double>::infinity());
  // The samples' own cache grows with the answers (KVCache::reserve before each decode step),
  // in steps of kv_growth_tokens, up to max_new_tokens positions.
  cache.allocate_generated(B, G, cfg.text.num_key_value_heads, cfg.text.head_dim, o.max_new_tokens, o.kv_growth_tokens,
                           at::TensorOptions().dtype(dtype).device(device));

  // From here on a row is one sample: row r = b * G + g.
  logits = logits.repeat_interleave(G, 0);  // [R, V]
  auto lengths_t = at::tensor(lengths, at::kLong);
  // The first generated token's position: the prompt's largest position + 1.
  auto next_position = (positions.rope_deltas.to(at::kLong) + lengths_t).repeat_interleave(G).to(device);  // [R]
  at::Tensor seen, generated;
  if (o.sampling.uses_repetition()) {
    seen = occurrences(ids.repeat_interleave(G, 0), valid.repeat_interleave(G, 0), V).to(device);
  }
  if (o.sampling.uses_presence()) generated = at::zeros({R, V}, at::TensorOptions().dtype(at::kBool).device(device));
  auto generator = make_generator(device, o.seed);
  at::Tensor suppress;  // [S] int64
  if (!o.suppress_token_ids.empty()) suppress = at::tensor(o.suppress_token_ids, at::kLong).to(device);

  std::vector<GeneratedSample> samples(R);
  for (int64_t r = 0; r < R; ++r) samples[r].prompt_index = r / G;
  std::vector<bool> finished(R, false);
  int64_t steps = 0;
  for (int64_t step = 0; step < o.max_new_tokens; ++step) {
    if (suppress.defined()) logits.index_fill_(1, suppress, -std::numeric_limits<double>::infinity());
    auto picked = pick_tokens(process_logits(logits, o.sampling, seen, generated), o.sampling.greedy, generator);
    auto tokens_cpu = picked.tokens.to(at::kCPU);
    auto logprobs_cpu = picked.logprobs.to(at::kCPU);
    const int64_t* tok = tokens_cpu.data_ptr<int64_t>();
    const float* lp = logprobs_cpu.data_ptr<float>();
    int64_t active = 0;
    for (int64_t r = 0; r < R; ++r) {
      if (finished[r]) continue;
      auto& sample = samples[r];
      sample.token_ids.push_back(tok[r]);
      sample.logprobs.push_back(lp[r]);
      const bool stop = hits_stop(sample.token_ids, o, tokenizer);
      const bool budget_spent = o.sample_max_new_tokens &&
                                static_cast<int64_t>(sample.token_ids.size()) >= o.sample_max_new_tokens(r / G, r % G);
      if (stop || budget_spent) {
        sample.finish_reason = stop ? FinishReason::stop : FinishReason::length;
        finished[r] = true;
        if (o.on_finished) o.on_finished(r, sample);
      } else {
        ++active;
      }
    }
    steps = step + 1;
    if (active == 0 || step + 1 == o.max_new_tokens) break;
    if (seen.defined()) seen.scatter_(1, picked.tokens.unsqueeze(1), true);
    if (generated.defined()) generated.scatter_(1, picked.tokens.unsqueeze(1), true);

    // One decode step for every row (finished rows too: their output is ignored).
    auto embeds = model.language_model->embed_tokens(picked.tokens.view({R, 1}));  // [R, 1, H]
    auto pos = (next_position + step).view({1, R, 1}).expand({3, R, 1});
    cache.reserve(cache.length + 1);  // room for the position every layer writes in this step
    AttentionContext decode{AttentionContext::Mode::decode, {}, &cache};
    auto h = model.language_model->forward(embeds, pos, decode);  // [R, 1, H]
    cache.length += 1;
    logits = model.logits(h.select(1, 0)).to(at::kFloat);
  }
  for (int64_t r = 0; r < R; ++r) {
    if (!finished[r] && o.on_finished) o.on_finished(r, samples[r]);
  }
  if (stats != nullptr) {
    stats->kv_cache_bytes = cache.bytes();
    stats->kv_cache_reallocations = cache.reallocations;
    stats->prefill_tokens = B * P;
    stats->decode_steps = steps - 1;  // the first token comes from the prefill
    stats->decode_rows = (steps - 1) * R;
    for (const auto& s : samples) stats->generated_tokens += static_cast<int64_t>(s.token_ids.size());
  }
  return samples;
}

}  // namespace visrl::policy
