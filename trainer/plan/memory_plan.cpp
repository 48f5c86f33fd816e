#include "trainer/plan/memory_plan.h"

#include <algorithm>
#include <cmath>
#include <functional>

#include <fmt/format.h>

#include "policy/model/lora.h"
#include "policy/model/model_dtype.h"
#include "policy/model/param_count.h"
#include "trainer/loop/config_options.h"

namespace visrl::trainer {
namespace {

constexpr int64_t kMiB = 1 << 20;
// The process's memory beyond what it held when main() started (LibTorch's libraries are
// already resident then): thread pools, the data, the render pool's bookkeeping, plus the
// tokenizer's tables at about 20 bytes per byte of tokenizer.json (the Qwen tokenizer: 11 MB of
// JSON, about 220 MiB). Calibrated on the train runs of bench/memory_plan/check.py.
constexpr int64_t kRuntimeCpuBytes = 64 * kMiB;
constexpr int64_t kTokenizerBytesPerJsonByte = 20;
// A CUDA context with LibTorch's kernels loaded, per GPU.
constexpr int64_t kCudaContextBytes = 600 * kMiB;

int64_t dtype_bytes(const std::string& name, bool cuda, const std::string& key) {
  return static_cast<int64_t>(c10::elementSize(policy::model_dtype(name, cuda, key)));
}

int64_t ceil_div(int64_t a, int64_t b) {
  return (a + b - 1) / b;
}

// Activation elements one token saves in one text decoder layer for the backward, counted from
// text_decoder.cpp: the two RMSNorms (normalised input and output, 2 H each), the q and k paths
// (projection, q/k norm, rotary halves and result: 5 each), v, the attention output and its
// reshaped copy (2 q), the residual sums (2 H) and the SwiGLU MLP (gate, silu, up, product: 4 I).
int64_t layer_saved_elements(const policy::TextConfig& t) {
  const int64_t q = t.num_attention_heads * t.head_dim, kv = t.num_key_value_heads * t.head_dim;
  return 6 * t.hidden_size + 7 * q + 6 * kv + 4 * t.intermediate_size;
}

// The same for one patch in one vision block: LayerNorms, qkv, q and k rotated in float32,
// attention output and projection, the residuals and the MLP's two intermediate tensors.
int64_t vision_block_saved_elements(const policy::VisionConfig& v, int64_t bytes) {
  const int64_t fp32_factor = 4 / bytes;  // q and k are rotated in float32
  return 9 * v.hidden_size + 4 * fp32_factor * v.hidden_size + 2 * v.intermediate_size;
}

// Temporaries of a forward without gradients over `tokens` tokens: one layer's widest tensors.
int64_t no_grad_forward_bytes(const policy::TextConfig& t, int64_t tokens, int64_t bytes) {
  const int64_t q = t.num_attention_heads * t.head_dim, kv = t.num_key_value_heads * t.head_dim;
  return tokens * (3 * t.intermediate_size + 4 * t.hidden_size + q + 2 * kv) * bytes;
}

int64_t kv_bytes_per_token(const policy::TextConfig& t, int64_t bytes) {
  return 2 * t.num_hidden_layers * t.num_key_value_heads * t.head_dim * bytes;
}

std::string count(double n) {
  if (n >= 1e9) return fmt::format("{:.2f}B", n / 1e9);
  if (n >= 1e6) return fmt::format("{:.1f}M", n / 1e6);
  if (n >= 1e3) return fmt::format("{:.1f}k", n / 1e3);
  return fmt::format("{}", static_cast<int64_t>(n));
}

// The adapters of a LoRA policy, from the shapes: what they hold and what they add.
struct LoraShape {
  int64_t params = 0;             // sum of r (in + out) over the adapted layers
  int64_t layers = 0;             // adapted Linear layers
  int64_t text_layer_inputs = 0;  // sum of `in` over one decoder layer's adapted projections
  int64_t largest_weight = 0;     // the largest adapted [out, in]
  bool vision = false;            // some adapter sits in the vision tower or a merger
};

LoraShape lora_shape(const policy::Qwen3VLConfig& config, const policy::LoraSpec& spec) {
  LoraShape s;
  const std::string first_layer = "model.language_model.layers.0.";
  for (const auto& l : policy::linear_layers(config)) {
    if (!policy::lora_targets(spec, l.path)) continue;
    s.params += spec.rank * (l.in + l.out);
    ++s.layers;
    s.largest_weight = std::max(s.largest_weight, l.in * l.out);
    if (l.path.rfind(first_layer, 0) == 0) s.text_layer_inputs += l.in;
    if (l.path.rfind("model.visual.", 0) == 0) s.vision = true;
  }
  return s;
}

MemoryPlan plan_without_fixes(const Config& c, const PlanInputs& in) {
  MemoryPlan plan;
  plan.cuda = in.cuda;
  plan.budget = in.budget_bytes;
  plan.budget_source = in.budget_source;
  auto add = [&](std::string name, std::string phase, int64_t bytes, std::string detail) {
    if (bytes > 0) plan.items.push_back({std::move(name), std::move(phase), bytes, std::move(detail)});
  };
  const int64_t W = std::max<int64_t>(in.world_size, 1);
  const int64_t b = dtype_bytes(c.model.dtype, in.cuda, "model.dtype");
  const auto& text = in.policy.text;
  const auto params = policy::count_parameters(in.policy);
  // A LoRA policy trains its float32 adapters alone; the base is frozen, and it is the KL
  // reference too (the adapters switched off).
  const auto lora = in.lora ? lora_shape(in.policy, *in.lora) : LoraShape{};
  const int64_t P = params.total(), Pt = in.lora ? lora.params : params.trainable(c.model.freeze_vision);
  const std::string dt = b == 4 ? "fp32" : c.model.dtype == "fp16" ? "fp16" : "bf16";

  // held ------------------------------------------------------------------------------------
  add(in.lora ? "policy weights (the frozen base)" : "policy weights", "held", P * b,
      fmt::format("{} params x {} B ({})", count(P), b, dt));
  if (c.algorithm.kl_coef != 0 && !in.lora)
    add("reference model", "held", P * b, "a frozen copy of the initial policy (KL)");
  if (in.lora) {
    add("LoRA adapters", "held", Pt * 4,
        fmt::format("{} params (r {} x (in + out) over {} layers) x 4 B", count(Pt), in.lora->rank, lora.layers));
  }
  if (in.critic) {
    const int64_t bc = dtype_bytes(c.reward.visual_erm.dtype, in.cuda, "reward.visual_erm.dtype");
    const int64_t C = policy::count_parameters(*in.critic).total();
    add("critic weights (in-process Visual-ERM)", "held", C * bc, fmt::format("{} params x {} B", count(C), bc));
  }
  const bool shard = c.distributed.shard_optimizer && W > 1;
  const int64_t owned = shard ? ceil_div(Pt, W) : Pt;
  add("AdamW state (exp_avg, exp_avg_sq)", "held", owned * 8,
      fmt::format("{} trainable params{} x 2 x 4 B", count(owned), shard ? fmt::format(" (1/{}, ZeRO-1)", W) : ""));
  if (b < 4 && !in.lora) {
    add("fp32 master weights", "held", owned * 4,
        fmt::format("{} params x 4 B{}", count(owned), shard ? " (ZeRO-1 shard)" : ""));
  }
  const bool accumulate_fp32 = b < 4 && c.optim.grad_dtype == "fp32" && !in.lora;
  const int64_t grad_bytes = in.lora || accumulate_fp32 ? 4 : b;
  add("gradients", "held", Pt * grad_bytes,
      fmt::format("{} params x {} B ({}); kept from one update to the next", count(Pt), grad_bytes,
                  in.lora           ? "the adapters' fp32"
                  : accumulate_fp32 ? "fp32 accumulators"
                                    : dt));
  if (in.cuda) add("CUDA context", "held", kCudaContextBytes, "measured constant");
  add("runtime (tokenizer, data, threads)", in.cuda ? "beside" : "held",
      kRuntimeCpuBytes + kTokenizerBytesPerJsonByte * in.tokenizer_json_bytes,
      fmt::format("64 MiB + 20 x {} of tokenizer.json", format_bytes(in.tokenizer_json_bytes)));

  // rollout ---------------------------------------------------------------------------------
  const int64_t G = c.rollout.group_size;
  const int64_t seqs_per_rank = ceil_div(c.rollout.prompts_per_step * G, W);
  const int64_t decode_batch = std::min(c.rollout.batch_size, seqs_per_rank);
  const int64_t decode_prompts = ceil_div(decode_batch, G);
  const int64_t kv_token = kv_bytes_per_token(text, b);
  add("policy KV cache", "rollout",
      kv_token * (decode_prompts * in.prompt_tokens + decode_batch * c.rollout.max_new_tokens),
      fmt::format("{} prompts x {} tokens (shared by their group) + {} answers x {} new tokens, {}/token",
                  decode_prompts, in.prompt_tokens, decode_batch, c.rollout.max_new_tokens, format_bytes(kv_token)));
  add("prefill temporaries", "rollout", no_grad_forward_bytes(text, decode_prompts * in.prompt_tokens, b),
      "one decoder layer's widest tensors over the prompts");
  add("decode logits", "rollout", decode_batch * text.vocab_size * 4 * 2,
      "[batch, vocab] fp32, logits and probabilities");
  if (in.lora) {
    // policy/model/lora.cpp add_delta: a chunk of rows in fp32, its delta and the scaled delta.
    add("LoRA merge temporaries", "rollout",
        3 * std::min<int64_t>(lora.largest_weight * 4, policy::kLoraMergeChunkBytes),
        "three fp32 blocks of at most 4 MiB of rows, while merging");
  }

  // reward ----------------------------------------------------------------------------------
  if (in.critic) {
    const int64_t bc = dtype_bytes(c.reward.visual_erm.dtype, in.cuda, "reward.visual_erm.dtype");
    const int64_t items = c.reward.visual_erm.batch_size;
    const int64_t tokens = in.critic_prompt_tokens + c.reward.max_new_tokens;
    add("critic KV cache", "reward", kv_bytes_per_token(in.critic->text, bc) * items * tokens,
        fmt::format("{} items x {} tokens", items, tokens));
    add("critic prefill temporaries", "reward",
        no_grad_forward_bytes(in.critic->text, items * in.critic_prompt_tokens, bc),
        "one decoder layer's widest tensors");
  }

  // update ----------------------------------------------------------------------------------
  const int64_t mb = c.algorithm.micro_batch_size;
  const int64_t T = mb * (in.prompt_tokens + c.rollout.max_new_tokens);  // tokens of one micro-batch
  const int64_t L = text.num_hidden_layers;
  // The adapters' path saves its input in fp32 (a cast of a narrower base's input) per
  // adapted projection.
  const int64_t per_layer = layer_saved_elements(text) * b + (in.lora && b < 4 ? lora.text_layer_inputs * 4 : 0);
  if (c.model.gradient_checkpointing) {
    add("activations (gradient checkpointing)", "update", T * (L * text.hidden_size * b + per_layer),
        fmt::format("{} tokens x ({} layer inputs + one layer recomputed, {}/token)", T, L, format_bytes(per_layer)));
  } else {
    add("activations", "update", T * L * per_layer,
        fmt::format("{} tokens x {} layers x {}/token", T, L, format_bytes(per_layer)));
  }
  // The vision tower saves activations only when something in it trains.
  if (in.lora ? lora.vision : !c.model.freeze_vision) {
    const auto& v = in.policy.vision;
    const int64_t patches = mb * in.image_patches;
    add("vision activations", "update",
        patches * (v.depth * vision_block_saved_elements(v, b) + 13 * v.hidden_size) * b,
        fmt::format("{} patches x {} blocks", patches, v.depth));
  }
  const int64_t scored = mb * c.rollout.max_new_tokens;
  const int64_t chunk = c.model.logprob_chunk_tokens > 0 ? std::min(c.model.logprob_chunk_tokens, scored) : scored;
  // Chunked: logits, probabilities and their gradient of one chunk. Unchunked: the whole
  // [scored, vocab] logits, log-softmax, its exponential and the gradient at once.
  const int64_t copies = c.model.logprob_chunk_tokens > 0 ? 3 : 4;
  add(c.model.logprob_chunk_tokens > 0 ? "log-prob chunk" : "log-prob logits (unchunked)", "update",
      chunk * text.vocab_size * 4 * copies, fmt::format("{} x [{}, {}] fp32", copies, chunk, text.vocab_size));
  if (accumulate_fp32)
    add("autograd gradients", "update", Pt * b, "bf16, before they are added to the fp32 accumulators");
  if (W > 1) add("all-reduce buckets", "update", 2 * c.distributed.bucket_mb * kMiB, "two buckets in flight");

  // beside ----------------------------------------------------------------------------------
  add("render workers (separate processes)", "beside", c.render.workers * c.render.memory_limit_mb * kMiB,
      fmt::format("{} workers x render.memory_limit_mb {} (a cap, in host memory)", c.render.workers,
                  c.render.memory_limit_mb));

  for (const auto& item : plan.items) {
    int64_t* sum = item.phase == "held"      ? &plan.held
                   : item.phase == "rollout" ? &plan.rollout
                   : item.phase == "reward"  ? &plan.reward
                   : item.phase == "update"  ? &plan.update
                                             : &plan.beside;
    *sum += item.bytes;
  }
  plan.peak_phase = "rollout";
  int64_t largest = plan.rollout;
  if (plan.reward > largest) largest = plan.reward, plan.peak_phase = "reward";
  if (plan.update > largest) largest = plan.update, plan.peak_phase = "update";
  plan.peak = plan.held + largest;
  return plan;
}

struct Fix {
  std::string text;
  std::function<bool(Config&, PlanInputs&)> apply;  // false: does not apply to this run
};

std::vector<Fix> candidate_fixes(const Config& base) {
  std::vector<Fix> fixes;
  fixes.push_back({"model.gradient_checkpointing=true", [](Config& c, PlanInputs&) {
                     if (c.model.gradient_checkpointing) return false;
                     return c.model.gradient_checkpointing = true;
                   }});
  fixes.push_back({"model.logprob_chunk_tokens=512", [](Config& c, PlanInputs&) {
                     if (c.model.logprob_chunk_tokens > 0 && c.model.logprob_chunk_tokens <= 512) return false;
                     c.model.logprob_chunk_tokens = 512;
                     return true;
                   }});
  fixes.push_back({"algorithm.micro_batch_size=1", [](Config& c, PlanInputs&) {
                     if (c.algorithm.micro_batch_size == 1) return false;
                     c.algorithm.micro_batch_size = 1;
                     return true;
                   }});
  for (int64_t size = base.rollout.batch_size / 2; size >= base.rollout.group_size && size >= 1; size /= 2) {
    fixes.push_back({fmt::format("rollout.batch_size={}", size), [size](Config& c, PlanInputs&) {
                       if (c.rollout.batch_size <= size) return false;
                       c.rollout.batch_size = size;
                       return true;
                     }});
  }
  fixes.push_back({"distributed.shard_optimizer=true", [](Config& c, PlanInputs& in) {
                     if (c.distributed.shard_optimizer || in.world_size == 1) return false;
                     return c.distributed.shard_optimizer = true;
                   }});
  fixes.push_back({"reward.critic=openai (the critic on its own servers)", [](Config& c, PlanInputs& in) {
                     if (!in.critic) return false;
                     in.critic.reset();
                     c.reward.critic = "openai";
                     return true;
                   }});
  fixes.push_back({"model.freeze_vision=true", [](Config& c, PlanInputs& in) {
                     if (c.model.freeze_vision || in.lora) return false;
                     return c.model.freeze_vision = true;
                   }});
  fixes.push_back({"model.lora.rank=16 (LoRA adapters; the base frozen)", [](Config& c, PlanInputs& in) {
                     if (in.lora) return false;
                     c.model.lora.rank = 16;
                     in.lora = lora_spec(c);
                     return true;
                   }});
  fixes.push_back({"optim.grad_dtype=param (gradients in the model's dtype)", [](Config& c, PlanInputs& in) {
                     if (c.optim.grad_dtype == "param" || in.lora ||
                         dtype_bytes(c.model.dtype, in.cuda, "model.dtype") == 4)
                       return false;
                     c.optim.grad_dtype = "param";
                     return true;
                   }});
  for (int64_t ranks : {2, 4, 8, 16, 32, 64, 128}) {
    fixes.push_back({fmt::format("{} ranks (fewer answers per rank; ZeRO-1 splits the AdamW state)", ranks),
                     [ranks](Config& c, PlanInputs& in) {
                       if (in.world_size >= ranks) return false;
                       in.world_size = ranks;
                       c.distributed.shard_optimizer = true;
                       return true;
                     }});
  }
  return fixes;
}

void add_fixes(MemoryPlan& plan, const Config& config, const PlanInputs& inputs) {
  const auto fixes = candidate_fixes(config);
  auto is_ranks = [](const Fix& fix) { return fix.text.find(" ranks (") != std::string::npos; };
  // Configuration changes on the same hardware, each alone, cheapest first.
  for (const auto& fix : fixes) {
    Config c = config;
    PlanInputs in = inputs;
    if (is_ranks(fix) || !fix.apply(c, in)) continue;
    const auto p = plan_without_fixes(c, in);
    if (p.fits()) plan.fixes.push_back(fmt::format("{}: peak {}", fix.text, format_bytes(p.needed())));
    if (plan.fixes.size() == 3) break;
  }
  if (plan.fixes.empty()) {
    // None suffices alone: the changes accumulated in the same order, up to the first that fits.
    Config c = config;
    PlanInputs in = inputs;
    std::vector<std::pair<std::string, std::string>> applied;  // key -> the change, latest wins
    MemoryPlan p = plan;
    for (const auto& fix : fixes) {
      if (is_ranks(fix) || !fix.apply(c, in)) continue;
      const auto key = fix.text.substr(0, fix.text.find_first_of("= "));
      auto same = std::find_if(applied.begin(), applied.end(), [&](const auto& a) { return a.first == key; });
      if (same != applied.end())
        same->second = fix.text;
      else
        applied.emplace_back(key, fix.text);
      p = plan_without_fixes(c, in);
      if (p.fits()) break;
    }
    std::string all;
    for (const auto& a : applied) all += (all.empty() ? "" : " + ") + a.second;
    if (!applied.empty()) {
      plan.fixes.push_back(
          p.fits() ? fmt::format("together: {}: peak {}", all, format_bytes(p.needed()))
                   : fmt::format("even all of these together do not fit: {}: peak {}", all, format_bytes(p.needed())));
    }
  }
  // The same configuration on more ranks: the fewest that fit.
  for (const auto& fix : fixes) {
    Config c = config;
    PlanInputs in = inputs;
    if (!is_ranks(fix) || !fix.apply(c, in)) continue;
    const auto p = plan_without_fixes(c, in);
    if (p.fits()) {
      plan.fixes.push_back(fmt::format("{}: peak {}", fix.text, format_bytes(p.needed())));
      break;
    }
  }
}

}  // namespace

bool MemoryPlan::fits() const {
  return budget <= 0 || needed() <= budget;
}

MemoryPlan plan_memory(const Config& config, const PlanInputs& inputs) {
  auto plan = plan_without_fixes(config, inputs);
  if (!plan.fits()) add_fixes(plan, config, inputs);
  return plan;
}

std::string format_bytes(int64_t bytes) {
  const double b = static_cast<double>(bytes);
  if (b >= 1024.0 * kMiB) return fmt::format("{:.2f} GiB", b / (1024.0 * kMiB));
  if (b >= kMiB) return fmt::format("{:.1f} MiB", b / kMiB);
  return fmt::format("{:.1f} KiB", b / 1024.0);
}

std::string format_plan(const MemoryPlan& plan) {
  std::string out = fmt::format("memory plan per rank ({}):\n", plan.cuda ? "GPU memory" : "host memory");
  out += fmt::format("  {:<40} {:<8} {:>11}  {}\n", "item", "phase", "size", "counted as");
  for (const auto& item : plan.items) {
    out += fmt::format("  {:<40} {:<8} {:>11}  {}\n", item.name, item.phase, format_bytes(item.bytes), item.detail);
  }
  out += fmt::format("  held {} + largest phase ({}) {} = peak {}\n", format_bytes(plan.held), plan.peak_phase,
                     format_bytes(plan.peak - plan.held), format_bytes(plan.peak));
  if (!plan.cuda && plan.beside > 0) {
    out += fmt::format("  with the render workers' cap beside it: {}\n", format_bytes(plan.needed()));
  }
  if (plan.budget <= 0) {
    out += "  budget unknown: no verdict\n";
    return out;
  }
  if (plan.fits()) {
    out += fmt::format("  fits: {} of {} ({}), {} to spare\n", format_bytes(plan.needed()), format_bytes(plan.budget),
                       plan.budget_source, format_bytes(plan.budget - plan.needed()));
    return out;
  }
  out += fmt::format("  DOES NOT FIT: needs {} but {} gives {}: short by {}\n", format_bytes(plan.needed()),
                     plan.budget_source, format_bytes(plan.budget), format_bytes(plan.needed() - plan.budget));
  if (!plan.fixes.empty()) {
    out += "  what makes it fit (cheapest first):\n";
    for (const auto& fix : plan.fixes) out += "    " + fix + "\n";
  }
  return out;
}

}  // namespace visrl::trainer
