// Supervised fine-tuning on (image, code) pairs: the warm start of a policy before GRPO. The
// same pieces as `train`: configuration, data (manifests and folders, references rendered when
// missing), the policy and its trainable parameters, ZeRO-1 AdamW, gradient all-reduce over
// c10d, the LR schedule, the run directory (metrics.jsonl, final/). Each step takes
// `batch_size` items from the seeded epoch sampler, split across ranks.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>

#include "core/config.h"
#include "core/run_dir.h"
#include "policy/generate/prompt.h"
#include "policy/model/qwen3vl.h"
#include "trainer/data/instructions.h"
#include "trainer/data/manifest.h"
#include "trainer/data/prompt_sampler.h"
#include "trainer/distributed/communicator.h"
#include "trainer/distributed/grad_sync.h"
#include "trainer/distributed/sharded_adamw.h"
#include "trainer/optim/lr_schedule.h"

namespace visrl::trainer {

struct SftOptions {
  int64_t batch_size = 16;       // items per optimizer step, across all ranks
  int64_t micro_batch_size = 4;  // sequences per forward/backward on one rank
  int64_t max_answer_tokens = 4096;
};

class SftRunner {
 public:
  SftRunner(const Config& config, const RunDir& run_dir, Communicator& comm, const SftOptions& options);

  // Trains until the schedule's steps are done or `stop` is set on any rank (checked between
  // steps), then writes <run_dir>/final/. Returns the steps done.
  int64_t run(const std::atomic<bool>& stop);

  int64_t total_steps() const { return schedule_.total_steps; }
  policy::Qwen3VLImpl& policy() { return *policy_; }

 private:
  nlohmann::json step(int64_t step);

  const Config config_;
  const RunDir& run_dir_;
  Communicator& comm_;
  SftOptions options_;
  policy::PolicyAssets assets_;
  policy::Qwen3VL policy_{nullptr};
  std::vector<DataItem> items_;
  TaskInstructions instructions_;
  std::unique_ptr<PromptSampler> sampler_;
  std::unique_ptr<ShardedAdamW> optimizer_;
  std::unique_ptr<GradientBuckets> gradients_;
  LrSchedule schedule_;
};

}  // namespace visrl::trainer
