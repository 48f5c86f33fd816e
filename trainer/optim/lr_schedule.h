// The learning rate of each optimizer step: linear warmup, then constant, cosine or linear
// decay to min_lr_ratio x lr (Hugging Face's get_*_schedule_with_warmup, with verl's floor).
#pragma once

#include <cstdint>
#include <string>

namespace visrl::trainer {

struct LrSchedule {
  double lr = 1e-6;
  std::string kind = "constant";  // constant | cosine | linear
  int64_t warmup_steps = 0;
  int64_t total_steps = 0;  // needed by cosine and linear
  double min_lr_ratio = 0.0;
};

// Throws Error(config) naming the key for an unknown kind, or a decaying schedule whose
// total_steps does not exceed warmup_steps.
void validate(const LrSchedule& schedule);

// LR of optimizer step `step` (0-based): lr * step / warmup during warmup (0 at step 0, as
// Hugging Face), then the schedule over progress p = (step - warmup) / (total - warmup),
// p clamped to [0, 1]: cosine min + (1 - min) (1 + cos(pi p)) / 2, linear min + (1 - min)(1 - p).
double lr_at(const LrSchedule& schedule, int64_t step);

}  // namespace visrl::trainer
