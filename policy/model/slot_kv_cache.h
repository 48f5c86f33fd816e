// The key/value cache of the continuous-batching engine (policy/generate/engine.h): a fixed
// number of decode slots, each holding one sample, and the prompts those samples answer.
//
//  - Prompt store: one entry per open prompt (a prompt with samples still to finish), its
//    keys/values stored once and shared by its group: [C, KVH, Pcap, D], zero beyond the
//    prompt's length, with prompt_bias [C, 1, 1, Pcap] (0 on the prompt, -inf after it).
//  - Slot store: one row per decode slot, the tokens its sample generated: [N, KVH, Scap, D].
//
// Both are kept compact: the rows of a decode step are slots [0, active) and the prompts in
// use are entries [0, open), so a step computes nothing for finished samples. When a sample
// finishes with no work left to take its slot, the last slot moves into the hole
// (move_slot); a prompt whose samples are all done is replaced by the last entry
// (move_prompt). The prompt store is allocated once, for the prompts that can be open at once
// and the longest prompt of the call; the slot store grows with the answers (Scap in steps of
// growth_step up to max_own), so memory follows what the batch needs.
#pragma once

#include <cstdint>
#include <vector>

#include <ATen/ATen.h>

namespace visrl::policy {

struct SlotLayerKV {
  at::Tensor prompt_k, prompt_v;  // [C, KVH, Pcap, D], after RoPE
  at::Tensor own_k, own_v;        // [N, KVH, Scap, D], the first own_length[slot] positions filled
};

// What one decode step's attention needs to know about its rows (set by the engine before
// each step; host vectors and their device copies).
struct SlotStep {
  int64_t open_prompts = 0;         // C_used, prompt entries [0, C_used)
  int64_t group = 1;                // G: fold positions per prompt entry
  int64_t prompt_len_max = 0;       // longest open prompt (Pmax <= Pcap)
  int64_t own_len_max = 0;          // Lmax: own positions attended this step (the new one included)
  std::vector<int64_t> prompt_of;   // [Na] prompt entry of each row
  std::vector<int64_t> prompt_len;  // [Na] its prompt's length
  std::vector<int64_t> own_len;     // [Na] own tokens before this step = the position written
  at::Tensor fold_index;            // [Na] int64 on device: prompt_of * G + the row's sample index
  at::Tensor write_position;        // [Na] int64 on device: own_len
  at::Tensor own_bias;              // [Na, 1, 1, Lmax] on device: 0 where position <= own_len, else -inf
};

class SlotKVCache {
 public:
  SlotKVCache(int64_t layers, int64_t kv_heads, int64_t head_dim, int64_t prompt_entries, int64_t prompt_length,
              int64_t slots, int64_t max_own, int64_t growth_step, const at::TensorOptions& options);

  // Stores a prefilled prompt's keys/values (per layer [1, KVH, P, D], P <= prompt_length) as
  // entry `entry`.
  void store_prompt(int64_t entry, const std::vector<at::Tensor>& k, const std::vector<at::Tensor>& v);
  // Copies entry `from` over entry `to` (compaction); the caller updates its bookkeeping.
  void move_prompt(int64_t from, int64_t to);
  // Copies the first `length` own positions of slot `from` over slot `to`.
  void move_slot(int64_t from, int64_t to, int64_t length);
  // Sets `step` for a decode step over rows [0, Na): each row's prompt entry, sample index
  // within its group, prompt length and own tokens so far; grows the slot store as needed.
  void prepare_step(const std::vector<int64_t>& prompt_of, const std::vector<int64_t>& sample_of,
                    const std::vector<int64_t>& prompt_len, const std::vector<int64_t>& own_len, int64_t open_prompts,
                    int64_t group);
  // Makes room for `positions` own positions per slot (before a step writing position
  // positions - 1). Throws visrl::Error beyond max_own.
  void reserve_own(int64_t positions);

  int64_t bytes() const;  // every tensor the cache holds now

  std::vector<SlotLayerKV> layers;
  at::Tensor prompt_bias;  // [C, 1, 1, Pcap]
  SlotStep step;
  int64_t reallocations = 0;  // growths of the slot store after its first allocation

 private:
  int64_t max_own_, growth_;
  at::TensorOptions options_;
  int64_t prompt_cap_ = 0, own_cap_ = 0;
};

}  // namespace visrl::policy
