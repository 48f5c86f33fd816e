// Where the memory planner's inputs come from: the models' config.json files, the image pixel
// budget, and the memory of the device a run gets (given on the command line or detected).
#pragma once

#include <cstdint>
#include <string>

#include "core/config.h"
#include "trainer/plan/memory_plan.h"

namespace visrl::trainer {

struct MemoryBudget {
  bool cuda = false;
  int64_t ranks = 1;
  int64_t bytes_per_rank = 0;  // 0 = unknown
  std::string source;
};

// `plan --gpus 8x80GB`: 8 ranks, one GPU of 80 GB each. Throws Error(usage) naming the flag.
MemoryBudget gpus_budget(const std::string& spec);
// `plan --memory 24GB`: one CPU rank with that much host memory.
MemoryBudget host_budget(const std::string& spec);
// The run's own device: the configured GPU's total memory, or the host's available memory
// (host_memory(): MemAvailable, cgroup and ulimit) shared by the `ranks_on_host` ranks of a node.
MemoryBudget detected_budget(const Config& config, int64_t ranks, int64_t ranks_on_host);

// Reads model.path/config.json (and the critic's for reward.critic = visual_erm), the pixel
// budget (model.max_pixels, else the checkpoint's preprocessor config) and the prompt sizes it
// implies: one image at the pixel budget plus 256 text tokens, at most data.max_prompt_tokens;
// the critic sees two images of reward.max_image_side (or its own pixel budget) plus 512 text
// tokens. Throws Error(config) naming the key whose directory or file is missing.
PlanInputs plan_inputs_for(const Config& config, const MemoryBudget& budget);

}  // namespace visrl::trainer
