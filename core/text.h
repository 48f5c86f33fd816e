// Small string helpers shared by error messages.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace visrl {

// Edit distance counting insertions, deletions, substitutions and swaps of adjacent
// characters (optimal string alignment), so "hgih" is one edit from "high".
size_t edit_distance(std::string_view a, std::string_view b);

// The candidate closest to `word` if it is close enough to be a likely typo: at most a
// third of the word's length in edits (at least 1, at most 3), or equal ignoring case.
std::optional<std::string> closest_match(std::string_view word, const std::vector<std::string>& candidates);

}  // namespace visrl
