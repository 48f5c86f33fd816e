// Added tokens (special or not) are cut out of the text before the model sees it, as HF's
// AddedVocabulary does: leftmost-longest matching, then single_word / lstrip / rstrip.
// Tokens with normalized=false match the raw text, the others the normalized text.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace visrl::policy {

struct AddedToken {
  int32_t id = 0;
  std::string content;
  bool single_word = false;
  bool lstrip = false;
  bool rstrip = false;
  bool normalized = true;
  bool special = false;
};

// A piece of text: either an added token's id, or text for the next stage (id < 0).
struct Piece {
  std::string_view text;
  int32_t id = -1;
};

class AddedTokenMatcher {
 public:
  AddedTokenMatcher() = default;
  // patterns[i] is what tokens[i] matches (its content, normalized when the token is).
  AddedTokenMatcher(std::vector<AddedToken> tokens, std::vector<std::string> patterns);

  bool empty() const { return tokens_.empty(); }

  // Splits `text` into pieces that cover it; empty text gives no pieces.
  void split(std::string_view text, std::vector<Piece>& out) const;

 private:
  std::vector<AddedToken> tokens_;
  std::vector<std::string> patterns_;
  // Candidate patterns per first byte, longest first (leftmost-longest wins).
  std::array<std::vector<uint32_t>, 256> by_first_byte_;
};

}  // namespace visrl::policy
