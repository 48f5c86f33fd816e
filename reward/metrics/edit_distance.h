// Edit distance and similarity of two texts, counted in Unicode code points.
#pragma once

#include <cstdint>
#include <string_view>

namespace visrl::reward {

// Levenshtein distance over Unicode code points (invalid UTF-8 bytes count as one unit each).
// Bit-parallel: ~70 ms for two 30,000-code-point texts that differ throughout (time grows
// with the product of the lengths).
int64_t edit_distance(std::string_view a, std::string_view b);
// 1 - edit_distance / max(len_a, len_b) in code points; 1 when both are empty. In [0, 1].
double edit_similarity(std::string_view a, std::string_view b);
// edit_distance / max(len_a, len_b); 0 when both are empty (OmniDocBench's normalised edit
// distance).
double normalized_edit_distance(std::string_view a, std::string_view b);

}  // namespace visrl::reward
