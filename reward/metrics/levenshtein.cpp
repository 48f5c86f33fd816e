#include "reward/metrics/levenshtein.h"

#include <algorithm>

#include "core/utf8.h"

namespace visrl::reward {
namespace {

constexpr uint64_t kTopBit = uint64_t{1} << 63;

// One text column through one 64-row block of the DP (Myers 1999, fig. 9). `hin` is the
// horizontal delta entering the block's top row; returns the delta leaving its `high` row.
int advance_block(uint64_t& pv, uint64_t& mv, uint64_t eq, int hin, uint64_t high) {
  const uint64_t xv = eq | mv;
  if (hin < 0) eq |= 1;
  const uint64_t xh = (((eq & pv) + pv) ^ pv) | eq;
  uint64_t ph = mv | ~(xh | pv);
  uint64_t mh = pv & xh;
  int hout = 0;
  if (ph & high) hout = 1;
  if (mh & high) hout = -1;
  ph <<= 1;
  mh <<= 1;
  if (hin < 0) {
    mh |= 1;
  } else if (hin > 0) {
    ph |= 1;
  }
  pv = mh | ~(xv | ph);
  mv = ph & xv;
  return hout;
}

}  // namespace

std::vector<char32_t> to_code_points(std::string_view text) {
  std::vector<char32_t> out;
  out.reserve(text.size());
  size_t i = 0;
  while (i < text.size()) {
    const size_t length = utf8_sequence_length(text, i);
    const auto c = static_cast<unsigned char>(text[i]);
    if (length == 0) {
      out.push_back(0xDC00 + c);
      ++i;
      continue;
    }
    char32_t cp = 0;
    if (length == 1) {
      cp = c;
    } else {
      cp = c & (0xFF >> (length + 1));
      for (size_t k = 1; k < length; ++k) cp = (cp << 6) | (static_cast<unsigned char>(text[i + k]) & 0x3F);
    }
    out.push_back(cp);
    i += length;
  }
  return out;
}

LevenshteinPattern::LevenshteinPattern(std::span<const char32_t> pattern)
    : size_(pattern.size()), blocks_(static_cast<int64_t>((pattern.size() + 63) / 64)), ascii_id_(128, -1) {
  for (const char32_t c : pattern) {
    if (c < 128) {
      if (ascii_id_[c] < 0) ascii_id_[c] = static_cast<int32_t>(ascii_count_++);
    } else {
      non_ascii_.push_back(c);
    }
  }
  std::sort(non_ascii_.begin(), non_ascii_.end());
  non_ascii_.erase(std::unique(non_ascii_.begin(), non_ascii_.end()), non_ascii_.end());
  const auto symbols = static_cast<size_t>(ascii_count_) + non_ascii_.size();

  // Counting sort of the (symbol, block) pairs: each position adds to one of them.
  std::vector<int64_t> ids(pattern.size());
  for (size_t i = 0; i < pattern.size(); ++i) ids[i] = symbol_id(pattern[i]);
  std::vector<int64_t> last_block(symbols, -1);
  std::vector<size_t> count(symbols + 1, 0);
  for (size_t i = 0; i < pattern.size(); ++i) {
    const auto id = static_cast<size_t>(ids[i]);
    const auto block = static_cast<int64_t>(i / 64);
    if (last_block[id] != block) {
      last_block[id] = block;
      ++count[id + 1];
    }
  }
  entry_begin_.assign(symbols + 1, 0);
  for (size_t s = 0; s < symbols; ++s) entry_begin_[s + 1] = entry_begin_[s] + count[s + 1];
  entries_.assign(entry_begin_[symbols], Entry{-1, 0});
  std::vector<size_t> next(entry_begin_.begin(), entry_begin_.end() - 1);
  std::fill(last_block.begin(), last_block.end(), -1);
  for (size_t i = 0; i < pattern.size(); ++i) {
    const auto id = static_cast<size_t>(ids[i]);
    const auto block = static_cast<int64_t>(i / 64);
    if (last_block[id] != block) {
      last_block[id] = block;
      entries_[next[id]++] = Entry{block, 0};
    }
    entries_[next[id] - 1].mask |= uint64_t{1} << (i % 64);
  }
  if (blocks_ == 1) {
    // Table cells are short and mostly ASCII: one load per text unit.
    ascii_mask_.assign(128, 0);
    for (size_t i = 0; i < pattern.size(); ++i) {
      if (pattern[i] < 128) ascii_mask_[pattern[i]] |= uint64_t{1} << i;
    }
  }
}

int64_t LevenshteinPattern::symbol_id(char32_t c) const {
  if (c < 128) return ascii_id_[c];
  const auto it = std::lower_bound(non_ascii_.begin(), non_ascii_.end(), c);
  if (it == non_ascii_.end() || *it != c) return -1;
  return ascii_count_ + (it - non_ascii_.begin());
}

int64_t LevenshteinPattern::distance(std::span<const char32_t> text) const {
  if (size_ == 0) return static_cast<int64_t>(text.size());
  const uint64_t last_high = uint64_t{1} << ((size_ - 1) % 64);
  int64_t score = static_cast<int64_t>(size_);  // D[m][0]
  if (blocks_ == 1) {
    uint64_t pv = ~uint64_t{0};
    uint64_t mv = 0;
    for (const char32_t c : text) {
      uint64_t eq = 0;
      if (c < 128) {
        eq = ascii_mask_[c];
      } else if (const int64_t id = symbol_id(c); id >= 0) {
        eq = entries_[entry_begin_[static_cast<size_t>(id)]].mask;
      }
      score += advance_block(pv, mv, eq, 1, last_high);
    }
    return score;
  }
  std::vector<uint64_t> pv(static_cast<size_t>(blocks_), ~uint64_t{0});
  std::vector<uint64_t> mv(static_cast<size_t>(blocks_), 0);
  for (const char32_t c : text) {
    const int64_t id = symbol_id(c);
    const Entry* entry = nullptr;
    const Entry* end = nullptr;
    if (id >= 0) {
      entry = entries_.data() + entry_begin_[static_cast<size_t>(id)];
      end = entries_.data() + entry_begin_[static_cast<size_t>(id) + 1];
    }
    int h = 1;  // the top row D[0][j] = j grows by one per column
    for (int64_t b = 0; b < blocks_; ++b) {
      uint64_t eq = 0;
      if (entry != end && entry->block == b) eq = (entry++)->mask;
      const auto ub = static_cast<size_t>(b);
      h = advance_block(pv[ub], mv[ub], eq, h, b + 1 == blocks_ ? last_high : kTopBit);
    }
    score += h;
  }
  return score;
}

int64_t levenshtein(std::span<const char32_t> a, std::span<const char32_t> b) {
  size_t prefix = 0;
  while (prefix < a.size() && prefix < b.size() && a[prefix] == b[prefix]) ++prefix;
  a = a.subspan(prefix);
  b = b.subspan(prefix);
  size_t suffix = 0;
  while (suffix < a.size() && suffix < b.size() && a[a.size() - 1 - suffix] == b[b.size() - 1 - suffix]) ++suffix;
  a = a.first(a.size() - suffix);
  b = b.first(b.size() - suffix);
  if (a.empty()) return static_cast<int64_t>(b.size());
  if (b.empty()) return static_cast<int64_t>(a.size());
  // The shorter string as the pattern: fewer blocks to keep.
  if (a.size() > b.size()) std::swap(a, b);
  return LevenshteinPattern(a).distance(b);
}

}  // namespace visrl::reward
