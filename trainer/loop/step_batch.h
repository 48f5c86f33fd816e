// The data of one GRPO step as it moves through Trainer::train_step's stages, and the index
// spaces its vectors and tensors use:
//
//   sample    a position in StepBatch::samples: the step's global batch, the same on every
//             rank, prompt-slot-major (the G answers of a prompt adjacent)
//   slot      a prompt of the step; StepBatch::slot_items[slot] is its item (dynamic sampling
//             appends the slots of each further round)
//   group     the answers of one slot (prompt_groups), numbered 0.. in slot order
//   kept      the samples of the groups trained on (dynamic sampling drops groups whose rewards
//             are all equal), ascending
//   sequence  this rank's training sequences: its slice of the kept groups of every mini-batch
#pragma once

#include <cstdint>
#include <vector>

#include "trainer/loop/batch_rewards.h"
#include "trainer/loop/ppo_update.h"
#include "trainer/loop/rollout_pipeline.h"
#include "trainer/loop/rollout_sample.h"

namespace visrl::trainer {

struct StepBatch {
  std::vector<RolloutSample> samples;  // [N] by sample
  std::vector<int64_t> slot_items;     // [slots] slot -> item index
  BatchRewards rewards;                // rewards [N] float64, group_ids [N] (by sample), lengths [N]
  std::vector<int64_t> kept_groups;    // groups trained on, ascending
  std::vector<int64_t> kept;           // [K] samples of the kept groups
  RolloutStats rollout;                // this rank's rollout times, summed over rounds
  int64_t rounds = 0;
};

struct RankShare {
  std::vector<UpdateSequence> sequences;  // [S] by sequence
  std::vector<int64_t> sample_of;         // [S] sequence -> sample
  std::vector<int64_t> minibatch_of;      // [S] sequence -> global mini-batch
  int64_t minibatches = 0;                // global mini-batches of the step (0: nothing to train)
};

}  // namespace visrl::trainer
