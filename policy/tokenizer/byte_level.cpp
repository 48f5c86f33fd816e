#include "policy/tokenizer/byte_level.h"

#include "core/utf8.h"
#include "policy/tokenizer/utf8.h"

namespace visrl::policy::byte_level {
namespace {

// Printable Latin-1 bytes stand for themselves; the other 68 bytes (controls, space, 0x7F-0xA0,
// 0xAD) take the code points 256, 257, ... in byte order.
struct Tables {
  std::array<std::string, 256> to_unicode;
  std::array<int16_t, 324> to_byte{};  // indexed by code point < 324
  Tables() {
    to_byte.fill(-1);
    int next = 256;
    for (int b = 0; b < 256; ++b) {
      const bool printable = (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
      const int cp = printable ? b : next++;
      append_utf8(to_unicode[static_cast<size_t>(b)], static_cast<uint32_t>(cp));
      to_byte[static_cast<size_t>(cp)] = static_cast<int16_t>(b);
    }
  }
};

const Tables& tables() {
  static const Tables t;
  return t;
}

}  // namespace

const std::array<std::string, 256>& byte_to_unicode() {
  return tables().to_unicode;
}

std::optional<uint8_t> unicode_to_byte(char32_t cp) {
  if (cp >= 324) return std::nullopt;
  const int16_t b = tables().to_byte[cp];
  if (b < 0) return std::nullopt;
  return static_cast<uint8_t>(b);
}

void encode(std::string_view bytes, std::string& out) {
  const auto& t = tables().to_unicode;
  for (const char c : bytes) out.append(t[static_cast<unsigned char>(c)]);
}

std::string token_bytes(std::string_view token) {
  std::string out;
  out.reserve(token.size());
  size_t pos = 0;
  while (pos < token.size()) {
    const auto b = unicode_to_byte(utf8::decode(token, pos));
    if (!b) return std::string(token);
    out.push_back(static_cast<char>(*b));
  }
  return out;
}

}  // namespace visrl::policy::byte_level
