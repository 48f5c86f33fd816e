// UTF-8 helpers of the tokenizer: validation with the offending byte offset, decoding one code
// point, and the lossy conversion HF's byte-level decoder applies (Rust's String::from_utf8_lossy).
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace visrl::policy::utf8 {

// The byte offset of the first byte that does not start a valid UTF-8 sequence (overlong forms,
// surrogates and code points above U+10FFFF are invalid, as for Rust's str), or nullopt.
std::optional<size_t> find_invalid(std::string_view s);

// Decodes the code point at s[pos] of a valid UTF-8 string and advances pos past it.
char32_t decode(std::string_view s, size_t& pos);

// Valid sequences are copied; each maximal invalid prefix of a sequence becomes one U+FFFD,
// exactly as Rust's String::from_utf8_lossy (the "substitution of maximal subparts" practice).
std::string lossy(std::string_view bytes);

// Unicode White_Space (what Rust's char::is_whitespace and regex \s accept).
bool is_whitespace(char32_t cp);

// Rust regex's Unicode \w: letters, marks, decimal digits, connector punctuation, Nl, join controls.
bool is_word_char(char32_t cp);

}  // namespace visrl::policy::utf8
