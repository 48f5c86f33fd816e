// GPT-2's byte-level alphabet: every byte maps to one printable code point, so that a BPE
// vocabulary of strings can cover arbitrary bytes ("Ġ" is the space, "Ċ" the newline).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace visrl::policy::byte_level {

// The UTF-8 encoding of the code point that stands for byte b.
const std::array<std::string, 256>& byte_to_unicode();

// The byte a code point stands for, or nullopt when it is not in the alphabet.
std::optional<uint8_t> unicode_to_byte(char32_t cp);

// Appends the byte-level string of raw bytes.
void encode(std::string_view bytes, std::string& out);

// The bytes a token string stands for, as HF's ByteLevel decoder reads it: a token whose every
// character is in the alphabet becomes those bytes, any other token is taken as its own UTF-8.
std::string token_bytes(std::string_view token);

}  // namespace visrl::policy::byte_level
