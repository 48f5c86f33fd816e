// Standard base64 (RFC 4648, with padding) for the data URLs of the request images.
#pragma once

#include <string>
#include <string_view>

namespace visrl::reward {

std::string base64_encode(std::string_view bytes);

}  // namespace visrl::reward
