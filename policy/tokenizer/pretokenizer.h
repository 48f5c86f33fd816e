// The regex split of the pre-tokenizer: PCRE2 with UTF + UCP (\p{L}, \p{N} and Unicode \s, as
// Oniguruma in HF tokenizers) and JIT compilation. The behaviour is HF's "Isolated": every match
// is a piece and so is every run of text between matches.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace visrl::policy {

// GPT-2's pattern, used by the ByteLevel pre-tokenizer when use_regex is true.
inline constexpr std::string_view kGpt2SplitPattern =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

class RegexSplitter {
 public:
  // Throws visrl::Error (ErrorKind::format) naming `where` when the pattern does not compile.
  // `literal` treats the pattern as a plain string (HF's {"String": ...} patterns).
  RegexSplitter(std::string_view pattern, bool literal, std::string_view where);
  ~RegexSplitter();
  RegexSplitter(RegexSplitter&&) noexcept;
  RegexSplitter& operator=(RegexSplitter&&) noexcept;

  // Appends the pieces of `text` (valid UTF-8) to `out`, in order; they cover `text` exactly.
  void split(std::string_view text, std::vector<std::string_view>& out) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// HF's Oniguruma \s is exactly Unicode White_Space; PCRE2's UCP \s also takes U+180E (in its \h
// list). This spells every \s and \S of a pattern out as White_Space. Exposed for tests.
std::string exact_whitespace_class(std::string_view pattern);

}  // namespace visrl::policy
