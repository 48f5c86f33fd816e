// The critic's findings, one per line, for test failure messages.
#pragma once

#include <string>
#include <vector>

#include <fmt/format.h>

#include "reward/critic.h"

namespace visrl::reward {

inline std::string describe(const std::vector<CriticError>& errors) {
  std::string out;
  for (const auto& e : errors)
    out += fmt::format("\n  {} {} @{}: {}", e.category, e.severity, e.location, e.description);
  return out;
}

}  // namespace visrl::reward
