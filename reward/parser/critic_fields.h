// The field-level rules of the critic parser: how a category, a severity or a free text
// given by a critic becomes a CriticError field, and what counts as a repair.
#pragma once

#include <cstddef>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace visrl::reward {

// The longest description or location kept, in bytes (cut at a code point boundary).
inline constexpr size_t kMaxTextBytes = 2000;

// "Data Error" -> "data_error", "text symbol" -> "text_symbol_error", "DataError" ->
// "data_error", "style-errors" -> "style_error". Unknown words pass through normalised
// ("color" -> "color_error"); the caller checks the result against the task.
std::string normalise_category(std::string_view raw);

// A severity as the critic wrote it: 2 (ok), or 2.0, "2", "Severity 2", "medium", "2 (medium)"
// (repaired). `problem` says why there is no value: 0, 4, 2.5, null, "unknown", ...
struct SeverityReading {
  std::optional<int> value;
  bool repaired = false;
  std::string problem;
};
SeverityReading read_severity(const nlohmann::json& v);

// A field of an entry found under its canonical key (not a repair) or under a synonym or a
// differently spelled key such as "Category" (a repair).
struct Field {
  const nlohmann::json* value = nullptr;
  bool repaired = false;
  std::string key;  // the key as written in the entry
};
Field find_field(const nlohmann::json& object, std::initializer_list<std::string_view> canonical,
                 std::initializer_list<std::string_view> synonyms);

// Free text for a location or a description, bounded as by bounded_text: strings are kept,
// other values written as compact JSON (a list of strings joined by ", "); null is "".
// `converted` is set when the value was neither a string nor null.
std::string text_of(const nlohmann::json& v, size_t max_bytes, bool* converted, bool* cut);

// A JSON value's type for messages: "a string", "an array", "null".
std::string type_phrase(const nlohmann::json& v);

// Valid UTF-8, control characters other than newline and tab replaced by spaces, at most
// `max_bytes` bytes. `cut` is set when the text was shortened.
std::string bounded_text(std::string_view text, size_t max_bytes, bool* cut);

}  // namespace visrl::reward
