// Where JSON may sit in a critic's answer: outside a <think> block, inside ``` fences or
// bare in prose. Only finds places; reading them is tolerant_json's job. Linear time.
#pragma once

#include <cstddef>
#include <string_view>
#include <vector>

namespace visrl::reward {

struct TextRange {
  size_t begin = 0;
  size_t end = 0;  // one past the last byte

  bool empty() const { return begin >= end; }
  bool operator==(const TextRange&) const = default;
};

// The answer is what follows the last </think>; without </think> but with <think> (the
// reasoning was cut off), what precedes <think>. The reasoning part is only read when the
// answer holds no error list.
struct ThinkSplit {
  TextRange answer;
  TextRange reasoning;  // empty when there is no think block
};
ThinkSplit split_think(std::string_view text);

// A stretch to look for JSON in: the content of a ``` fence, or prose between fences.
struct Segment {
  enum class Kind { json_fence, other_fence, prose };
  Kind kind = Kind::prose;
  TextRange range;
};

// The segments of `range` in the order they are tried: ```json fences, then other fences,
// then prose, each in text order. A fence without its closing ``` runs to the range's end.
std::vector<Segment> find_segments(std::string_view text, TextRange range);

// The first offset in [from, end) where an object or a list of objects may start: '{'
// followed by a quote or '}', or '[' followed by '{', '[' or ']' (whitespace allowed in
// between). Prose such as "see [1]" or "f() { return; }" is skipped. `end` when none.
size_t next_json_start(std::string_view text, size_t from, size_t end);

}  // namespace visrl::reward
