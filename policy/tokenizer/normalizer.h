// The normalizers of tokenizer.json that visrl supports: none, NFC, or a Sequence of those.
#pragma once

#include <string>
#include <string_view>

namespace visrl::policy {

class Normalizer {
 public:
  enum class Kind { none, nfc };

  Normalizer() = default;
  explicit Normalizer(Kind kind) : kind_(kind) {}

  Kind kind() const { return kind_; }

  // The normalized text (a copy of `text` when there is nothing to do). Input is valid UTF-8.
  std::string apply(std::string_view text) const;

 private:
  Kind kind_ = Kind::none;
};

// Canonical composition (NFC) through utf8proc; ASCII is returned as is without a call.
std::string nfc(std::string_view text);

}  // namespace visrl::policy
