#include "policy/generate/engine.h"

#include <algorithm>
#include <limits>

#include <c10/core/InferenceMode.h>

#include "core/error.h"
#include "policy/generate/engine_parts.h"
#include "policy/generate/positions.h"
#include "policy/model/batch_invariant.h"

namespace visrl::policy {
namespace {

// A prefilled prompt with samples still to finish: one entry of the cache's prompt store.
struct OpenPrompt {
  int64_t prompt = 0;          // index into the call's prompts
  int64_t length = 0;          // P
  int64_t first_position = 0;  // the first generated token's (MRoPE) position: rope delta + P
  at::Tensor first_logits;     // [1, V] float32: the next-token logits after the prompt
  at::Tensor seen;             // [1, V] bool: the prompt's tokens (repetition penalty), or undefined
  int64_t unfinished = 0;      // its samples not yet finished (started or not)
};

// A running sample, in decode slot = its index in Engine::rows.
struct Row {
  int64_t sample_row = 0;  // prompt * G + g, the index in the result
  int64_t entry = 0;       // its prompt's entry in the prompt store
  int64_t budget = 0;      // the most tokens it may generate
  uint64_t stream = 0;     // its random stream (sampling.h)
};

int64_t longest_prompt(const std::vector<PromptInput>& prompts) {
  int64_t longest = 0;
  for (const auto& p : prompts) longest = std::max(longest, p.input_ids.numel());
  return longest;
}

class Engine {
 public:
  Engine(Qwen3VLImpl& model, const std::vector<PromptInput>& prompts, const GenerateOptions& o,
         const Tokenizer* tokenizer)
      : model_(model),
        prompts_(prompts),
        o_(o),
        tokenizer_(tokenizer),
        G_(o.group_size),
        V_(model.config.text.vocab_size),
        // No more slots than samples: the slot store is allocated for every slot.
        slots_(std::min(o.decode_slots > 0 ? o.decode_slots : std::numeric_limits<int64_t>::max(),
                        static_cast<int64_t>(prompts.size()) * o.group_size)),
        device_(model.device()),
        // A prompt stays open while one of its samples runs: at most min(B, slots) at once.
        cache_(model.config.text.num_hidden_layers, model.config.text.num_key_value_heads, model.config.text.head_dim,
               std::min<int64_t>(static_cast<int64_t>(prompts.size()), slots_), longest_prompt(prompts), slots_,
               o.max_new_tokens, o.kv_growth_tokens, at::TensorOptions().dtype(model.dtype()).device(model.device())),
        samples_(prompts.size() * static_cast<size_t>(o.group_size)),
        entry_of_(prompts.size(), -1) {
    for (size_t r = 0; r < samples_.size(); ++r) samples_[r].prompt_index = static_cast<int64_t>(r) / G_;
    if (!o.suppress_token_ids.empty()) suppress_ = at::tensor(o.suppress_token_ids, at::kLong).to(device_);
    const auto bool_options = at::TensorOptions().dtype(at::kBool).device(device_);
    if (o.sampling.uses_repetition()) seen_ = at::zeros({slots_, V_}, bool_options);
    if (o.sampling.uses_presence()) generated_ = at::zeros({slots_, V_}, bool_options);
  }

  std::vector<GeneratedSample> run(GenerateStats* stats) {
    const int64_t total = static_cast<int64_t>(samples_.size());
    at::Tensor logits;  // [Na, V] float32: the rows' next-token logits after the last decode step
    while (true) {
      if (!rows_.empty()) sample_running(logits);  // a token for every running row; retire finished ones
      while (static_cast<int64_t>(rows_.size()) < slots_ && next_sample_ < total) admit(next_sample_++);
      if (rows_.empty()) break;
      logits = decode_step();
      stats_.kv_cache_bytes = std::max(stats_.kv_cache_bytes, cache_.bytes());
    }
    stats_.kv_cache_reallocations = cache_.reallocations;
    for (const auto& s : samples_) stats_.generated_tokens += static_cast<int64_t>(s.token_ids.size());
    if (stats != nullptr) *stats = stats_;
    return std::move(samples_);
  }

 private:
  // Stage: prefill prompt b alone ([1, P], no padding) into a new prompt-store entry.
  void open_prompt(int64_t b) {
    const auto& p = prompts_[b];
    const int64_t P = p.input_ids.numel();
    auto ids = p.input_ids.view({1, P}).to(at::kLong);
    auto valid = at::ones({1, P}, at::kBool);
    auto grid = p.pixel_values.defined() ? p.image_grid_thw.to(at::kLong) : at::Tensor();
    MropePositions positions;
    try {
      positions = batch_positions(model_.config, ids, valid, grid);
    } catch (const Error& e) {
      throw e.with_context(fmt::format("prompt {}", p.id));
    }
    KVCache prompt_cache;  // the prefill writes the prompt's keys/values here: [1, KVH, P, D] per layer
    prompt_cache.layers.resize(model_.config.text.num_hidden_layers);
    AttentionContext prefill{AttentionContext::Mode::prefill, {}, &prompt_cache};
    ModelInputs inputs{ids.to(device_), positions.position_ids.to(device_),
                       p.pixel_values.defined() ? p.pixel_values.to(device_) : at::Tensor(), grid};
    at::Tensor hidden;  // [1, P, H]
    if (o_.batch_invariant) {
      // On one thread: the prefill's big elementwise ops, norms and attention would otherwise
      // split their work by the thread count, and with it where vector and scalar paths meet.
      for_each_row(1, [&](int64_t) { hidden = model_.hidden_states(inputs, prefill); });
    } else {
      hidden = model_.hidden_states(inputs, prefill);
    }
    OpenPrompt open;
    open.prompt = b;
    open.length = P;
    open.first_position = positions.rope_deltas.to(at::kLong).item<int64_t>() + P;
    open.first_logits = model_.logits(hidden.select(1, P - 1)).to(at::kFloat);  // [1, V]
    if (seen_.defined()) open.seen = occurrences(ids, valid, V_).to(device_);
    open.unfinished = G_;
    std::vector<at::Tensor> k, v;
    for (const auto& layer : prompt_cache.layers) {
      k.push_back(layer.prompt_k);
      v.push_back(layer.prompt_v);
    }
    entry_of_[b] = static_cast<int64_t>(open_.size());
    cache_.store_prompt(entry_of_[b], k, v);
    open_.push_back(std::move(open));
    stats_.prefill_tokens += P;
  }

  // Stage: start sample r in the next free slot: its first token comes from its prompt's
  // logits; a sample that ends there never takes the slot.
  void admit(int64_t r) {
    const int64_t b = r / G_, g = r % G_;
    if (entry_of_[b] < 0) open_prompt(b);  // samples start in order: b's first sample opens it
    const int64_t entry = entry_of_[b];
    Row row;
    row.sample_row = r;
    row.entry = entry;
    row.budget = o_.max_new_tokens;
    if (o_.sample_max_new_tokens) {
      const int64_t want = o_.sample_max_new_tokens(b, g);
      if (want < 1)
        fail(ErrorKind::config, "generate: prompt {} sample {}: a token budget of {} (must be >= 1)", prompts_[b].id, g,
             want);
      row.budget = std::min(row.budget, want);
    }
    row.stream = sample_stream(o_.seed, prompts_[b].stream >= 0 ? prompts_[b].stream : b, g);
    const int64_t slot = static_cast<int64_t>(rows_.size());
    rows_.push_back(row);
    if (seen_.defined()) seen_[slot].copy_(open_[entry].seen[0]);
    if (generated_.defined()) generated_[slot].fill_(false);
    sample_running(open_[entry].first_logits, slot);
  }

  // Stage: sample one token for rows [first, Na) from logits [Na - first, V], append it, and
  // retire the rows that finish (their slots compacted away).
  void sample_running(const at::Tensor& logits, int64_t first = 0) {
    const int64_t n = static_cast<int64_t>(rows_.size()) - first;
    std::vector<double> u(n);
    for (int64_t i = 0; i < n; ++i) {
      const auto& row = rows_[first + i];
      u[i] = stream_uniform(row.stream, static_cast<int64_t>(samples_[row.sample_row].token_ids.size()));
    }
    auto picked = pick(logits, at::tensor(u, at::kDouble), first);
    auto tokens_cpu = picked.tokens.to(at::kCPU);
    auto logprobs_cpu = picked.logprobs.to(at::kCPU, at::kFloat);
    const int64_t* tok = tokens_cpu.data_ptr<int64_t>();
    const float* lp = logprobs_cpu.data_ptr<float>();
    std::vector<int64_t> done;
    for (int64_t i = 0; i < n; ++i) {
      const auto& row = rows_[first + i];
      auto& sample = samples_[row.sample_row];
      sample.token_ids.push_back(tok[i]);
      sample.logprobs.push_back(lp[i]);
      if (hits_stop(sample.token_ids, o_, tokenizer_)) {
        sample.finish_reason = FinishReason::stop;
        done.push_back(first + i);
      } else if (static_cast<int64_t>(sample.token_ids.size()) >= row.budget) {
        sample.finish_reason = FinishReason::length;
        done.push_back(first + i);
      }
    }
    auto rows_tokens = picked.tokens.view({-1, 1});
    if (seen_.defined()) seen_.narrow(0, first, n).scatter_(1, rows_tokens, true);
    if (generated_.defined()) generated_.narrow(0, first, n).scatter_(1, rows_tokens, true);
    for (int64_t slot : done) {
      const auto& row = rows_[slot];
      if (o_.on_finished) o_.on_finished(row.sample_row, samples_[row.sample_row]);
    }
    // From the last: a retired slot takes the last row, which is never one still to retire.
    for (auto it = done.rbegin(); it != done.rend(); ++it) retire(*it);
  }

  Picked pick(const at::Tensor& logits, const at::Tensor& u, int64_t first) {
    auto x = logits;
    if (suppress_.defined()) x = x.index_fill(1, suppress_, -std::numeric_limits<double>::infinity());
    const int64_t n = x.size(0);
    const auto seen = seen_.defined() ? seen_.narrow(0, first, n) : at::Tensor();
    const auto generated = generated_.defined() ? generated_.narrow(0, first, n) : at::Tensor();
    if (!o_.batch_invariant) return pick_tokens(process_logits(x, o_.sampling, seen, generated), o_.sampling.greedy, u);
    // One row at a time on one thread (batch_invariant.h).
    Picked out{at::empty({n}, at::TensorOptions().dtype(at::kLong).device(x.device())), at::empty({n}, x.options())};
    for_each_row(n, [&](int64_t i) {
      auto row_seen = seen.defined() ? seen.narrow(0, i, 1) : at::Tensor();
      auto row_generated = generated.defined() ? generated.narrow(0, i, 1) : at::Tensor();
      auto p = pick_tokens(process_logits(x.narrow(0, i, 1), o_.sampling, row_seen, row_generated), o_.sampling.greedy,
                           u.narrow(0, i, 1));
      out.tokens.narrow(0, i, 1).copy_(p.tokens);
      out.logprobs.narrow(0, i, 1).copy_(p.logprobs);
    });
    return out;
  }

  // Stage: the sample in `slot` is complete (and handed over): close its prompt when it was
  // the last, and fill the hole with the last running row.
  void retire(int64_t slot) {
    const auto row = rows_[slot];
    const int64_t last = static_cast<int64_t>(rows_.size()) - 1;
    if (slot != last) {
      cache_.move_slot(last, slot, own_length(rows_[last]));
      if (seen_.defined()) seen_[slot].copy_(seen_[last]);
      if (generated_.defined()) generated_[slot].copy_(generated_[last]);
      rows_[slot] = rows_[last];
    }
    rows_.pop_back();
    if (--open_[row.entry].unfinished == 0) close_prompt(row.entry);
  }

  void close_prompt(int64_t entry) {
    const int64_t last = static_cast<int64_t>(open_.size()) - 1;
    entry_of_[open_[entry].prompt] = -1;
    if (entry != last) {
      cache_.move_prompt(last, entry);
      entry_of_[open_[last].prompt] = entry;
      for (auto& r : rows_) {
        if (r.entry == last) r.entry = entry;
      }
      open_[entry] = std::move(open_[last]);
    }
    open_.pop_back();
  }

  // Own tokens in the cache: all generated but the last (which the next step feeds).
  int64_t own_length(const Row& row) const {
    return static_cast<int64_t>(samples_[row.sample_row].token_ids.size()) - 1;
  }

  // Stage: one forward over the running rows, each feeding its last token at its own position.
  at::Tensor decode_step() {
    const auto Na = static_cast<int64_t>(rows_.size());
    std::vector<int64_t> prompt_of, sample_of, prompt_len, own_len, tokens, positions;
    for (const auto& row : rows_) {
      const auto& sample = samples_[row.sample_row];
      const auto& open = open_[row.entry];
      prompt_of.push_back(row.entry);
      sample_of.push_back(row.sample_row % G_);
      prompt_len.push_back(open.length);
      own_len.push_back(own_length(row));
      tokens.push_back(sample.token_ids.back());
      positions.push_back(open.first_position + own_length(row));
    }
    cache_.prepare_step(prompt_of, sample_of, prompt_len, own_len, static_cast<int64_t>(open_.size()), G_);
    auto embeds =
        model_.language_model->embed_tokens(at::tensor(tokens, at::kLong).view({Na, 1}).to(device_));  // [Na, 1, H]
    auto pos = at::tensor(positions, at::kLong).view({1, Na, 1}).expand({3, Na, 1}).to(device_);       // [3, Na, 1]
    AttentionContext ctx{AttentionContext::Mode::slot_decode, {}, nullptr, &cache_};
    auto h = model_.language_model->forward(embeds, pos, ctx);  // [Na, 1, H]
    ++stats_.decode_steps;
    stats_.decode_rows += Na;
    return model_.logits(h.select(1, 0)).to(at::kFloat);  // [Na, V]
  }

  Qwen3VLImpl& model_;
  const std::vector<PromptInput>& prompts_;
  const GenerateOptions& o_;
  const Tokenizer* tokenizer_;
  const int64_t G_, V_, slots_;
  const at::Device device_;
  SlotKVCache cache_;
  std::vector<GeneratedSample> samples_;  // [B * G], row = prompt * G + g
  std::vector<OpenPrompt> open_;          // the prompt store's entries, in entry order
  std::vector<int64_t> entry_of_;         // [B] each prompt's entry, -1 when not open
  std::vector<Row> rows_;                 // the running samples, in slot order
  int64_t next_sample_ = 0;               // the first sample not yet started
  at::Tensor suppress_;                   // [S] int64
  at::Tensor seen_, generated_;           // [slots, V] bool, rows = slots (penalties only)
  GenerateStats stats_;
};

}  // namespace

const char* finish_reason_name(FinishReason reason) {
  return reason == FinishReason::stop ? "stop" : "length";
}

std::vector<GeneratedSample> generate(Qwen3VLImpl& model, const std::vector<PromptInput>& prompts,
                                      const GenerateOptions& o, const Tokenizer* tokenizer, GenerateStats* stats) {
  check_generate_options(prompts, o, tokenizer, model.config.text.max_position_embeddings,
                         model.config.text.vocab_size);
  if (prompts.empty()) return {};
  c10::InferenceMode inference;
  BatchInvariantMode invariant(o.batch_invariant);
  return Engine(model, prompts, o, tokenizer).run(stats);
}

}  // namespace visrl::policy
