// Small string helpers shared by error messages.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace visrl {

// The pieces of `text` between `separator`s, empty ones included, except that an empty text or
// a trailing separator adds no empty last piece: "a,,b," -> {"a", "", "b"}; "" -> {}. The
// views point into `text`.
std::vector<std::string_view> split(std::string_view text, char separator);

// Edit distance counting insertions, deletions, substitutions and swaps of adjacent
// characters (optimal string alignment), so "hgih" is one edit from "high".
size_t edit_distance(std::string_view a, std::string_view b);

// The candidate closest to `word` if it is close enough to be a likely typo: at most a
// third of the word's length in edits (at least 1, at most 3), or equal ignoring case.
std::optional<std::string> closest_match(std::string_view word, const std::vector<std::string>& candidates);

}  // namespace visrl
