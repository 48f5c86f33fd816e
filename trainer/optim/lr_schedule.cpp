#include "trainer/optim/lr_schedule.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"

namespace visrl::trainer {

void validate(const LrSchedule& s) {
  if (s.kind != "constant" && s.kind != "cosine" && s.kind != "linear")
    fail(ErrorKind::config, "optim.schedule: expected constant, cosine or linear, got \"{}\"", s.kind);
  if (s.kind != "constant" && s.total_steps <= s.warmup_steps)
    fail(ErrorKind::config, "optim.total_steps: a {} schedule needs total_steps ({}) > warmup_steps ({})", s.kind,
         s.total_steps, s.warmup_steps);
}

double lr_at(const LrSchedule& s, int64_t step) {
  if (step < s.warmup_steps) return s.lr * static_cast<double>(step) / static_cast<double>(s.warmup_steps);
  if (s.kind == "constant") return s.lr;
  const double span = static_cast<double>(std::max<int64_t>(1, s.total_steps - s.warmup_steps));
  const double p = std::clamp(static_cast<double>(step - s.warmup_steps) / span, 0.0, 1.0);
  const double shape = s.kind == "cosine" ? 0.5 * (1.0 + std::cos(M_PI * p)) : 1.0 - p;
  return s.lr * (s.min_lr_ratio + (1.0 - s.min_lr_ratio) * shape);
}

}  // namespace visrl::trainer
