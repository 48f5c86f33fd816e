#include "policy/tokenizer/normalizer.h"

#include <cstdlib>
#include <memory>

#include <utf8proc.h>

#include "core/error.h"

namespace visrl::policy {

std::string nfc(std::string_view text) {
  // Code points below U+0300 never change under NFC on their own and never combine with a
  // previous character, so text made of them alone (ASCII, Latin-1, ...) is already NFC.
  bool simple = true;
  for (const char c : text) {
    const auto b = static_cast<unsigned char>(c);
    if (b >= 0xCC) {  // lead bytes of U+0300 and above
      simple = false;
      break;
    }
  }
  if (simple) return std::string(text);
  utf8proc_uint8_t* out = nullptr;
  const utf8proc_ssize_t n =
      utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(text.data()), static_cast<utf8proc_ssize_t>(text.size()),
                   &out, static_cast<utf8proc_option_t>(UTF8PROC_STABLE | UTF8PROC_COMPOSE));
  if (n < 0) fail(ErrorKind::runtime, "NFC normalisation failed: {}", utf8proc_errmsg(n));
  std::unique_ptr<utf8proc_uint8_t, decltype(&std::free)> owned(out, &std::free);
  return std::string(reinterpret_cast<const char*>(out), static_cast<size_t>(n));
}

std::string Normalizer::apply(std::string_view text) const {
  if (kind_ == Kind::nfc) return nfc(text);
  return std::string(text);
}

}  // namespace visrl::policy
