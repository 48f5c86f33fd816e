#include "trainer/loop/apply_gradients.h"

#include <cmath>

#include <spdlog/spdlog.h>

#include "trainer/distributed/adamw.h"

namespace visrl::trainer {

double apply_gradients(GradientBuckets& gradients, ShardedAdamW& optimizer, Communicator& comm, double grad_clip,
                       double lr) {
  gradients.all_reduce(comm, 1.0);
  const double norm = clip_grad_norm(optimizer.params(), grad_clip);
  if (std::isfinite(norm)) {
    optimizer.step(lr);
  } else {
    spdlog::warn("gradient norm is {}: optimizer step skipped", norm);
  }
  return norm;
}

}  // namespace visrl::trainer
