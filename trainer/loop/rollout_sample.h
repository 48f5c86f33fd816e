// One sampled answer on its way through a step: generated tokens, then the render and the
// critic's verdict (record), then reward and advantage (record.reward, record.advantage).
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "policy/generate/engine.h"
#include "render/render_types.h"
#include "reward/formula/rollout_record.h"

namespace visrl::trainer {

struct RolloutSample {
  int64_t prompt_slot = 0;               // index of its prompt in the step's global prompt list
  int64_t sample = 0;                    // g in [0, G)
  std::vector<int64_t> response_ids;     // generated tokens, eos included
  std::vector<float> response_logprobs;  // [L] the sampler's log-prob of each (empty = unknown)
  policy::FinishReason finish = policy::FinishReason::length;
  // id "<prompt id>/<g>", group = prompt id, task, answer, render and critic outcome, lengths.
  reward::RolloutRecord record;
  // The render, kept on the rank that made it (for the image log); null when none.
  std::shared_ptr<const render::RgbImage> rendered;
};

}  // namespace visrl::trainer
