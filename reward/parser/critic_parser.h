// Turns a critic's free text into errors of the REFERENCE.md section 1 schema. Tolerant by
// design: critics wrap JSON in prose or code fences, spell keys differently, truncate their
// output. Never throws; whatever cannot be used is dropped and counted.
#pragma once

#include <string_view>
#include <vector>

#include "reward/critic.h"

namespace visrl::reward {

struct ParsedCritique {
  std::vector<CriticError> errors;  // valid for `task`: known category, severity 1..3
  ParseReport report;
};

// status ok: a JSON object (or bare list) with an error list whose every entry was valid;
// repaired: usable after repairs or after dropping entries; failed: no usable error list.
ParsedCritique parse_critic_output(Task task, std::string_view text) noexcept;

}  // namespace visrl::reward
