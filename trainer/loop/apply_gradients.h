// The end of every update (GRPO and SFT): gradients summed across ranks, their global norm
// clipped to grad_clip (0 = off), then (sharded) AdamW; a non-finite norm skips the step with a
// warning instead of poisoning the weights.
#pragma once

#include "trainer/distributed/communicator.h"
#include "trainer/distributed/grad_sync.h"
#include "trainer/distributed/sharded_adamw.h"

namespace visrl::trainer {

// Returns the gradient norm before clipping.
double apply_gradients(GradientBuckets& gradients, ShardedAdamW& optimizer, Communicator& comm, double grad_clip,
                       double lr);

}  // namespace visrl::trainer
