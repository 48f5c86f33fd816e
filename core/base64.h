// Base64 (RFC 4648 alphabet): encoding with padding for the critic's PNG data URLs, and
// the forgiving decode data: URL parsers use, for the SVG guard. No LibTorch.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace visrl {

// Standard base64 with '=' padding.
std::string base64_encode(std::string_view bytes);

// WHATWG "forgiving-base64 decode": ASCII whitespace is ignored and padding is optional;
// nullopt for any other character outside the alphabet or an impossible length.
std::optional<std::string> base64_decode(std::string_view text);

}  // namespace visrl
