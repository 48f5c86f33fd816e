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
//
// Where: the answer after </think> first (the think block only when the answer has no list),
// ```json fences, then other fences, then JSON bare in prose; at most 16 readings per part.
// The list: "errors" (or "discrepancies", "issues", "error_list", ...; one level down as in
// {"result": {"errors": [...]}}), or a bare list of entry objects; "[]" alone and an object
// with all-zero "counts" but no list mean no discrepancy. Entries: category or type (or
// error_type), normalised ("Data Error" -> data_error) and checked against the task;
// severity 1..3 (2.0, "2", "medium", "Severity 2" repaired; 0, 4, 2.5, null dropped);
// location and description optional (desc, details, ... accepted), at most 2,000 bytes of
// valid UTF-8 each. At most 256 errors are kept. Linear in the length of `text`.
ParsedCritique parse_critic_output(Task task, std::string_view text) noexcept;

}  // namespace visrl::reward
