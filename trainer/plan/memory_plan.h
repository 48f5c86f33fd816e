// The memory planner: what one rank of a run will hold, item by item, computed from the
// configuration and the models' config.json before any weight is read.
//
// Items belong to a phase. "held" items live through the whole step (weights, the reference
// model, optimizer state and fp32 masters, gradients and their fp32 accumulators: an update's
// gradients stay until the next update starts); the others only while their phase runs:
//   rollout  the policy's KV cache at the configured lengths, prefill and decode temporaries
//   reward   an in-process critic's KV cache and prefill (its weights are held)
//   update   saved activations of one micro-batch (with or without gradient checkpointing),
//            one log-prob chunk of [chunk, vocab] logits, autograd's narrow gradients
// peak = held + the largest phase. Render workers are separate processes: their memory cap is
// shown and counted against host memory, not against a GPU ("beside"). On a CPU, the peak is
// the growth of the process's resident set over what it held when main() started.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/config.h"
#include "policy/model/lora_adapter.h"
#include "policy/model/qwen3vl_config.h"

namespace visrl::trainer {

// What the planner needs beside the Config; built by plan_inputs_for (plan_inputs.h).
struct PlanInputs {
  policy::Qwen3VLConfig policy;
  std::optional<policy::Qwen3VLConfig> critic;  // reward.critic = visual_erm: the critic's shapes
  std::optional<policy::LoraSpec> lora;         // a LoRA policy's adapters (model.lora or its adapter file)
  bool cuda = false;                            // the policy's device: decides "auto" dtypes
  int64_t world_size = 1;
  int64_t prompt_tokens = 0;         // tokens of one policy prompt (image + text)
  int64_t image_patches = 0;         // vision patches of one prompt image (before the 2x2 merge)
  int64_t critic_prompt_tokens = 0;  // tokens of one critic prompt (two images + text)
  int64_t tokenizer_json_bytes = 0;  // size of the policy's tokenizer.json (its tables scale with it)
  int64_t budget_bytes = 0;          // memory of one rank's device; 0 = unknown (no verdict)
  std::string budget_source;         // where the budget came from, e.g. "--gpus 8x80GB"
};

struct PlanItem {
  std::string name;
  std::string phase;  // held | rollout | reward | update | beside (another process)
  int64_t bytes = 0;
  std::string detail;  // how it was counted
};

struct MemoryPlan {
  std::vector<PlanItem> items;
  int64_t held = 0, rollout = 0, reward = 0, update = 0, beside = 0;
  int64_t peak = 0;        // of this process: held + the largest phase
  std::string peak_phase;  // rollout | reward | update
  int64_t budget = 0;      // 0 = unknown
  std::string budget_source;
  bool cuda = false;
  // Whether peak (plus `beside` on a CPU device, which shares the host's memory) fits the budget.
  bool fits() const;
  int64_t needed() const { return cuda ? peak : peak + beside; }
  // The cheapest configuration changes after which the plan fits, each with its peak; empty
  // when it fits or nothing listed helps.
  std::vector<std::string> fixes;
};

// The plan of `config` on PlanInputs, with fixes computed when it does not fit.
MemoryPlan plan_memory(const Config& config, const PlanInputs& inputs);

// The table and the verdict, for the console and the run directory.
std::string format_plan(const MemoryPlan& plan);

// "12.3 GiB", "850 MiB": binary units, as nvidia-smi and free -h print them.
std::string format_bytes(int64_t bytes);

}  // namespace visrl::trainer
