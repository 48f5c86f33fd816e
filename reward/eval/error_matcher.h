// Matching a critic's errors to human-annotated errors, as VC-RewardBench scores critics
// (REFERENCE.md section 5): within one error type, each predicted error matches at most one
// human error and vice versa, at level "yes" (the same discrepancy) or "partial" (partly the
// same). The built-in matcher decides by text: the similarity of the descriptions and, when
// both errors give one, of the locations. An LLM judge (llm_judge.h) can decide instead.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "reward/critic.h"

namespace visrl::reward::eval {

// One annotated error: type is a category of the item's task (chart data_error, ...).
struct HumanError {
  std::string type;
  int severity = 1;
  std::string description;
  std::string location;  // "" when the annotation has none (VC-RewardBench has none)
};

enum class MatchLevel { yes, partial };
std::string_view to_string(MatchLevel level);

struct ErrorMatch {
  size_t predicted = 0;  // index into the predicted errors
  size_t human = 0;      // index into the human errors
  MatchLevel level = MatchLevel::partial;
  double score = 0;  // the built-in similarity (0 from a judge)
};

struct MatcherOptions {
  double yes_threshold = 0.5;       // similarity at or above: yes
  double partial_threshold = 0.15;  // at or above (and below yes): partial; below: no match
  double location_weight = 0.25;    // share of the location in the similarity when both have one
};

// Content words of a text: lower case; words are runs of letters, digits, '#' and '%' (and a
// '.' between digits: 1.5); English stop words dropped; British spellings folded ("colour" ->
// "color", "centre" -> "center"); deduplicated, in order of first appearance.
// "A #D62728 shape is missing" -> {#d62728, shape, missing}.
std::vector<std::string> content_words(std::string_view text);

// Dice coefficient of the content words: 2 |A n B| / (|A| + |B|); 0 when either is empty.
double text_similarity(std::string_view a, std::string_view b);

// Similarity of a predicted and a human error of the same type, in [0, 1]: the descriptions'
// text similarity, mixed with the locations' by location_weight when both give a location.
double error_similarity(const CriticError& predicted, const HumanError& human, const MatcherOptions& options);

// The lower-case, underscore-joined form of a type name: "Data Error" -> "data_error".
std::string normalize_type(std::string_view type);

// One item's one-to-one matching: pairs of the same (normalised) type, best similarity first
// (ties: lower predicted index, then lower human index), while both are unmatched and the
// similarity reaches partial_threshold. Sorted by predicted index.
std::vector<ErrorMatch> builtin_match(const std::vector<CriticError>& predicted, const std::vector<HumanError>& human,
                                      const MatcherOptions& options);

}  // namespace visrl::reward::eval
