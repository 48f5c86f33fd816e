#include "trainer/loop/fault_injection.h"

#include <charconv>
#include <string_view>

#include "core/error.h"
#include "core/text.h"

namespace visrl::trainer {

InjectedFaults injected_faults(const std::function<const char*(const char*)>& getenv) {
  InjectedFaults faults;
  const char* raw = getenv("VISRL_INJECT_NAN_LOSS");
  if (!raw) return faults;
  for (const auto item : split(raw, ',')) {
    int64_t step = 0;
    auto [ptr, ec] = std::from_chars(item.data(), item.data() + item.size(), step);
    if (item.empty() || ec != std::errc() || ptr != item.data() + item.size() || step < 1)
      fail(ErrorKind::config, "environment variable VISRL_INJECT_NAN_LOSS=\"{}\": expected steps >= 1 like 3,4,5", raw);
    faults.nan_loss_steps.insert(step);
  }
  return faults;
}

}  // namespace visrl::trainer
