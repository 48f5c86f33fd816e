#include "policy/tokenizer/added_tokens.h"

#include <algorithm>
#include <cstring>

#include "policy/tokenizer/utf8.h"

namespace visrl::policy {
namespace {

// The last / first code point of a valid UTF-8 string.
char32_t last_char(std::string_view s) {
  size_t start = s.size() - 1;
  while (start > 0 && (static_cast<unsigned char>(s[start]) & 0xC0) == 0x80) --start;
  return utf8::decode(s, start);
}

char32_t first_char(std::string_view s) {
  size_t pos = 0;
  return utf8::decode(s, pos);
}

// Start of the run of whitespace that ends s (s.size() when there is none).
size_t trailing_space_start(std::string_view s) {
  size_t end = s.size();
  while (end > 0) {
    size_t start = end - 1;
    while (start > 0 && (static_cast<unsigned char>(s[start]) & 0xC0) == 0x80) --start;
    size_t p = start;
    if (!utf8::is_whitespace(utf8::decode(s, p))) break;
    end = start;
  }
  return end;
}

// Length of the run of whitespace that starts s.
size_t leading_space_length(std::string_view s) {
  size_t pos = 0;
  while (pos < s.size()) {
    size_t p = pos;
    if (!utf8::is_whitespace(utf8::decode(s, p))) break;
    pos = p;
  }
  return pos;
}

}  // namespace

AddedTokenMatcher::AddedTokenMatcher(std::vector<AddedToken> tokens, std::vector<std::string> patterns)
    : tokens_(std::move(tokens)), patterns_(std::move(patterns)) {
  for (uint32_t i = 0; i < patterns_.size(); ++i) {
    if (patterns_[i].empty()) continue;
    by_first_byte_[static_cast<unsigned char>(patterns_[i][0])].push_back(i);
  }
  for (auto& list : by_first_byte_) {
    std::stable_sort(list.begin(), list.end(),
                     [&](uint32_t a, uint32_t b) { return patterns_[a].size() > patterns_[b].size(); });
  }
}

void AddedTokenMatcher::split(std::string_view text, std::vector<Piece>& out) const {
  if (text.empty()) return;
  size_t emitted = 0;  // HF's start_offset: end of the last piece
  size_t pos = 0;      // where the search for the next match starts
  while (pos < text.size()) {
    // Leftmost match, longest at that position (Aho-Corasick LeftmostLongest in HF).
    size_t start = pos;
    int64_t found = -1;
    for (; start < text.size(); ++start) {
      const auto& candidates = by_first_byte_[static_cast<unsigned char>(text[start])];
      for (const uint32_t c : candidates) {
        const std::string& p = patterns_[c];
        if (p.size() <= text.size() - start && std::memcmp(text.data() + start, p.data(), p.size()) == 0) {
          found = c;
          break;
        }
      }
      if (found >= 0) break;
    }
    if (found < 0) break;
    const AddedToken& token = tokens_[static_cast<size_t>(found)];
    size_t stop = start + patterns_[static_cast<size_t>(found)].size();
    pos = stop;  // matches never overlap, even when single_word discards this one
    if (token.single_word) {
      const bool start_ok = start == 0 || !utf8::is_word_char(last_char(text.substr(0, start)));
      const bool stop_ok = stop == text.size() || !utf8::is_word_char(first_char(text.substr(stop)));
      if (!start_ok || !stop_ok) continue;
    }
    if (token.lstrip) {
      // The spaces may already belong to the previous match (its rstrip).
      start = std::max(trailing_space_start(text.substr(0, start)), emitted);
    }
    if (token.rstrip) stop += leading_space_length(text.substr(stop));
    if (emitted < start) out.push_back(Piece{text.substr(emitted, start - emitted), -1});
    out.push_back(Piece{text.substr(start, stop - start), token.id});
    emitted = stop;
    // HF's automaton resumes after the raw match, so a token inside stripped spaces could match
    // again; spaces never contain a token's first byte in practice, but keep the ranges sane.
    pos = std::max(pos, stop);
  }
  if (emitted < text.size()) out.push_back(Piece{text.substr(emitted), -1});
}

}  // namespace visrl::policy
