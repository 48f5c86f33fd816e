#include "policy/tokenizer/bpe.h"

#include <algorithm>
#include <limits>
#include <queue>

#include "core/error.h"
#include "policy/tokenizer/byte_level.h"

namespace visrl::policy {
namespace {

// Words up to this many symbols use the linear merge loop; longer ones the heap.
constexpr size_t kLinearMaxSymbols = 64;
constexpr int32_t kNoRank = std::numeric_limits<int32_t>::max();

}  // namespace

Bpe::Bpe(TokenMap vocab, const std::vector<std::pair<std::string, std::string>>& merges,
         std::optional<std::string> unk_token, bool fuse_unk, bool ignore_merges, std::string_view where)
    : vocab_(std::move(vocab)), fuse_unk_(fuse_unk), ignore_merges_(ignore_merges) {
  merges_.reserve(merges.size() * 2);
  for (size_t i = 0; i < merges.size(); ++i) {
    const auto& [a, b] = merges[i];
    const auto ia = vocab_.find(a);
    const auto ib = vocab_.find(b);
    if (ia == vocab_.end() || ib == vocab_.end()) {
      fail(ErrorKind::format, "{}.merges[{}]: token '{}' is not in model.vocab", where, i, ia == vocab_.end() ? a : b);
    }
    const auto im = vocab_.find(fmt::format("{}{}", a, b));
    if (im == vocab_.end()) {
      fail(ErrorKind::format, "{}.merges[{}]: merged token '{}{}' is not in model.vocab", where, i, a, b);
    }
    // A repeated pair takes its last rank, as HF's map built from the list does.
    merges_[key(ia->second, ib->second)] = Merge{static_cast<int32_t>(i), im->second};
  }
  const auto& alphabet = byte_level::byte_to_unicode();
  for (size_t b = 0; b < 256; ++b) {
    const auto it = vocab_.find(alphabet[b]);
    byte_ids_[b] = it == vocab_.end() ? -1 : it->second;
  }
  if (unk_token) {
    const auto it = vocab_.find(*unk_token);
    if (it == vocab_.end()) fail(ErrorKind::format, "{}.unk_token: '{}' is not in model.vocab", where, *unk_token);
    unk_id_ = it->second;
  }
}

std::vector<int32_t> Bpe::merge_linear(std::vector<int32_t> sym) const {
  if (sym.size() < 2) return sym;
  // ranks[i]: the merge of (sym[i], sym[i+1]); the leftmost lowest rank merges first, exactly
  // the order of HF's heap (lowest rank, then lowest position).
  std::vector<Merge> pairs(sym.size() - 1);
  for (size_t i = 0; i + 1 < sym.size(); ++i) {
    const Merge* m = find_merge(sym[i], sym[i + 1]);
    pairs[i] = m ? *m : Merge{kNoRank, -1};
  }
  while (!pairs.empty()) {
    size_t best = 0;
    for (size_t i = 1; i < pairs.size(); ++i) {
      if (pairs[i].rank < pairs[best].rank) best = i;
    }
    if (pairs[best].rank == kNoRank) break;
    sym[best] = pairs[best].id;
    sym.erase(sym.begin() + static_cast<ptrdiff_t>(best) + 1);
    pairs.erase(pairs.begin() + static_cast<ptrdiff_t>(best));
    if (best > 0) {
      const Merge* m = find_merge(sym[best - 1], sym[best]);
      pairs[best - 1] = m ? *m : Merge{kNoRank, -1};
    }
    if (best < pairs.size()) {
      const Merge* m = find_merge(sym[best], sym[best + 1]);
      pairs[best] = m ? *m : Merge{kNoRank, -1};
    }
  }
  return sym;
}

std::vector<int32_t> Bpe::merge_heap(std::vector<int32_t> sym) const {
  const auto n = static_cast<int32_t>(sym.size());
  if (n < 2) return sym;
  std::vector<int32_t> prev(static_cast<size_t>(n)), next(static_cast<size_t>(n));
  std::vector<char> alive(static_cast<size_t>(n), 1);
  for (int32_t i = 0; i < n; ++i) {
    prev[static_cast<size_t>(i)] = i - 1;
    next[static_cast<size_t>(i)] = i + 1 < n ? i + 1 : -1;
  }
  struct Entry {
    int32_t rank, pos, id;
    bool operator>(const Entry& o) const { return rank != o.rank ? rank > o.rank : pos > o.pos; }
  };
  std::priority_queue<Entry, std::vector<Entry>, std::greater<>> heap;
  auto push = [&](int32_t pos) {
    const int32_t r = next[static_cast<size_t>(pos)];
    if (r < 0) return;
    if (const Merge* m = find_merge(sym[static_cast<size_t>(pos)], sym[static_cast<size_t>(r)])) {
      heap.push(Entry{m->rank, pos, m->id});
    }
  };
  for (int32_t i = 0; i + 1 < n; ++i) push(i);
  while (!heap.empty()) {
    const Entry top = heap.top();
    heap.pop();
    const auto p = static_cast<size_t>(top.pos);
    if (!alive[p] || next[p] < 0) continue;
    const auto r = static_cast<size_t>(next[p]);
    // Stale entries (a neighbour changed since the push) no longer name the current pair.
    const Merge* m = find_merge(sym[p], sym[r]);
    if (m == nullptr || m->id != top.id) continue;
    sym[p] = m->id;
    alive[r] = 0;
    next[p] = next[r];
    if (next[r] >= 0) prev[static_cast<size_t>(next[r])] = top.pos;
    if (prev[p] >= 0) push(prev[p]);
    push(top.pos);
  }
  std::vector<int32_t> out;
  out.reserve(sym.size());
  for (size_t i = 0; i < sym.size(); ++i) {
    if (alive[i]) out.push_back(sym[i]);
  }
  return out;
}

std::vector<int32_t> Bpe::tokenize_uncached(std::string_view word) const {
  if (ignore_merges_) {
    std::string mapped;
    byte_level::encode(word, mapped);
    if (const auto it = vocab_.find(mapped); it != vocab_.end()) return {it->second};
  }
  std::vector<int32_t> sym;
  sym.reserve(word.size());
  bool last_unk = false;
  for (const char c : word) {
    const int32_t id = byte_ids_[static_cast<unsigned char>(c)];
    if (id >= 0) {
      sym.push_back(id);
      last_unk = false;
    } else if (unk_id_) {
      // HF: a byte missing from the vocabulary becomes unk (runs fused when fuse_unk), and is
      // dropped when there is no unk token.
      if (!(fuse_unk_ && last_unk)) sym.push_back(*unk_id_);
      last_unk = true;
    }
  }
  return sym.size() <= kLinearMaxSymbols ? merge_linear(std::move(sym)) : merge_heap(std::move(sym));
}

void Bpe::encode_word(std::string_view word, std::vector<int32_t>& out) const {
  if (word.size() == 1) {
    // Single bytes never merge; they are also the most frequent words (digits, punctuation).
    const int32_t id = byte_ids_[static_cast<unsigned char>(word[0])];
    if (id >= 0) {
      out.push_back(id);
      return;
    }
  }
  if (word.size() <= kCacheMaxWordBytes) {
    {
      std::lock_guard lock(cache_mutex_);
      if (const auto it = cache_.find(word); it != cache_.end()) {
        out.insert(out.end(), it->second.begin(), it->second.end());
        return;
      }
    }
    std::vector<int32_t> ids = tokenize_uncached(word);
    out.insert(out.end(), ids.begin(), ids.end());
    std::lock_guard lock(cache_mutex_);
    if (cache_.size() < kCacheCapacity) cache_.emplace(std::string(word), std::move(ids));
    return;
  }
  const std::vector<int32_t> ids = tokenize_uncached(word);
  out.insert(out.end(), ids.begin(), ids.end());
}

}  // namespace visrl::policy
