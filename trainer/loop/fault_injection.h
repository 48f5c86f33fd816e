// Faults a test asks a real run (build/bin/train) to suffer, from the environment. Nothing is
// injected unless the variable is set; a malformed value is an Error(config) naming it.
//
//   VISRL_INJECT_NAN_LOSS=3,4,5   the loss of the last rank is NaN at steps 3, 4 and 5 (the
//                                 update must be skipped on every rank: optim.max_bad_steps)
#pragma once

#include <cstdint>
#include <functional>
#include <set>

namespace visrl::trainer {

struct InjectedFaults {
  std::set<int64_t> nan_loss_steps;

  bool nan_loss_at(int64_t step, int rank, int world_size) const {
    return rank == world_size - 1 && nan_loss_steps.count(step) > 0;
  }
};

// `getenv` returns a variable's value or nullptr.
InjectedFaults injected_faults(const std::function<const char*(const char*)>& getenv);

}  // namespace visrl::trainer
