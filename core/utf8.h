// UTF-8 byte-level helpers shared by the renderers' text cleaning, the SVG URL scan and the
// critic-output parser. No LibTorch.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace visrl {

// Length of the valid UTF-8 sequence starting at s[i] (RFC 3629: no overlong forms,
// surrogates or code points above U+10FFFF), or 0 if it is invalid. Same rules as
// nlohmann's JSON parser.
size_t utf8_sequence_length(std::string_view s, size_t i);

// Appends code point `cp` as UTF-8; surrogates and values above U+10FFFF become U+FFFD.
void append_utf8(std::string& out, uint32_t cp);

}  // namespace visrl
