// Everything besides tensors that a resumed run needs to continue exactly where a checkpoint
// was taken: the step, the data position, the LR schedule, the seed of the random streams,
// the reward formula and the metrics offset. Stored as trainer_state.json in the checkpoint.
//
// Random streams: visrl draws no random number from a global generator while training. Every
// sample draws from its own stream keyed by (step_seed(seed, step), its prompt's global slot,
// its index in the group), and each epoch's data order is a function of (seed, epoch), so the
// seed and the step restore every stream; this is also why a resume on another number of
// ranks draws the same random numbers (and, with rollout.batch_invariant, the same samples).
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "trainer/data/prompt_sampler.h"
#include "trainer/optim/lr_schedule.h"

namespace visrl::trainer {

struct TrainerState {
  int64_t step = 0;            // training steps completed
  uint64_t seed = 0;           // config seed: rollout and data-order streams derive from it
  SamplerState sampler;        // epochs completed and the cursor in the current one
  int64_t num_items = 0;       // training items the sampler position refers to
  bool shuffle = true;         // data.shuffle when it was taken
  LrSchedule schedule;         // the schedule steps 1..step followed
  int64_t metrics_offset = 0;  // bytes of metrics.jsonl once the line of `step` was written
                               // (for tools; a resume rewinds the log by step number)
  int world_size = 1;          // ranks of the run that wrote it (resume works on any number)
  bool has_optimizer = true;   // false when checkpoint.model_only was set
  nlohmann::json formula;      // the reward formula's spec, so that a resume can tell a change
};

nlohmann::json to_json(const TrainerState& state);
// Throws Error(format) naming `where` (the file) and the key that is missing or mistyped.
TrainerState trainer_state_from_json(const nlohmann::json& j, const std::string& where);

}  // namespace visrl::trainer
