// A JSON reader for what language models write. Strict JSON reads exactly as
// nlohmann::json::parse reads it; the usual damage is repaired and counted instead of
// rejected: trailing or missing commas, single quotes, Python literals, comments, raw control
// characters, invalid UTF-8, and a text that ends in the middle (truncated generation).
// One pass, linear time, nesting capped so that no input can exhaust the stack. Never throws.
#pragma once

#include <array>
#include <cstddef>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace visrl::reward::tolerant_json {

// The repairs the reader makes; each occurrence is counted.
enum class Fix {
  trailing_comma,     // [1, 2,]   {"a": 1,}
  missing_comma,      // {"a": 1} {"b": 2} inside a list, "a": 1 "b": 2 inside an object
  single_quotes,      // {'a': 'it''s'}: a quoted string ends at a quote followed by , : ] } or the end
  python_literal,     // True, False, None
  non_finite,         // NaN, Infinity, -Infinity read as null; 1e400 read as infinity
  comment,            // // to the end of the line, /* ... */
  number_format,      // +1, 01, 1., .5
  control_character,  // a raw newline or tab inside a string (kept as is)
  bad_escape,         // "\x" kept as backslash and x; a lone UTF-16 surrogate becomes U+FFFD
  invalid_utf8,       // a byte that does not belong to valid UTF-8 becomes U+FFFD
  truncated,          // the text ended inside a value: open strings, lists and objects are closed
};
inline constexpr size_t kFixKinds = 11;

// "trailing comma", "Python literal", ...: a short name for messages.
std::string_view fix_name(Fix fix);

// Set (to true) in every object that the end of the text cut off, so that callers can drop
// half-written entries. Not valid UTF-8, so no key read from the text can equal it.
inline constexpr std::string_view kCutKey =
    "\xff"
    "cut";

inline constexpr int kMaxDepth = 64;
// Values read at most (strings, numbers, lists, objects...): a critic answer of 4096 tokens
// has a few thousand; the cap bounds the memory a megabyte of "[1,1,1,..." can take.
inline constexpr size_t kMaxValues = size_t{1} << 18;

struct Result {
  bool ok = false;       // a value was read (maybe after repairs)
  nlohmann::json value;  // every string in it is valid UTF-8
  size_t end = 0;        // ok: offset just past the value; otherwise where reading failed
  std::array<int, kFixKinds> fixes{};
  std::string error;             // why not ok (at offset `end`), e.g. "expected ':' but found '}'"
  bool too_many_values = false;  // not ok because the text holds more than max_values values

  int count(Fix fix) const { return fixes[static_cast<size_t>(fix)]; }
  int total_fixes() const;
};

// Reads the JSON value that starts at text[0] (after whitespace and comments) and ignores
// whatever follows it. Lists and objects nested deeper than `max_depth`, and more than
// `max_values` values in all, are an error.
Result parse(std::string_view text, int max_depth = kMaxDepth, size_t max_values = kMaxValues) noexcept;

}  // namespace visrl::reward::tolerant_json
