// The in-process critic: a Qwen3-VL checkpoint (Visual-ERM, or any Qwen3-VL) run through
// policy/ with batched generation. One user turn per item: the reference image, the
// render, then the task's prompt; sampling per task as the released RL code does
// (REFERENCE.md section 1). Output that does not parse is sampled again, up to
// `parse_retries` calls per item.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "policy/generate/prompt.h"
#include "policy/model/qwen3vl.h"
#include "reward/critic.h"
#include "reward/prompts/critic_prompts.h"

namespace visrl::reward {

struct VisualErmOptions {
  std::string model_path;
  std::string device = "auto";  // auto | cpu | cuda | cuda:N
  std::string dtype = "auto";   // auto (bf16 on CUDA, fp32 on CPU) | bf16 | fp16 | fp32
  int64_t batch_size = 8;       // items decoded together
  int64_t max_image_side = 0;   // 0 = the task's default
  int64_t max_new_tokens = 0;   // 0 = the task's default (4096)
  int64_t parse_retries = 2;    // critic calls per item, >= 1
  CriticPrompts prompts = CriticPrompts::builtin();
  uint64_t seed = 0;  // sampling seed; each score() call advances it
};

class VisualErmCritic final : public Critic {
 public:
  // Loads the checkpoint and its tokenizer / image processor. Throws visrl::Error naming
  // what is missing.
  explicit VisualErmCritic(const VisualErmOptions& options);
  // Uses an already loaded model (tests, or a critic sharing a process with others).
  VisualErmCritic(policy::Qwen3VL model, policy::PolicyAssets assets, const VisualErmOptions& options);

  std::string name() const override { return "visual_erm"; }
  std::vector<CriticResult> score(const std::vector<CriticItem>& items) override;

  // The engine input for one item (which must have a render): images downscaled to the
  // task's longest side, reference first, then the prompt.
  policy::PromptInput build_prompt(const CriticItem& item) const;

 private:
  policy::Qwen3VL model_;
  policy::PolicyAssets assets_;
  VisualErmOptions options_;
  uint64_t calls_ = 0;  // score() calls so far: varies the seed between calls
};

}  // namespace visrl::reward
