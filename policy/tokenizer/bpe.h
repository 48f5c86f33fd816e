// The BPE model of tokenizer.json: a vocabulary, merges as a (left id, right id) -> (rank, id)
// hash map, and a per-word cache. Words arrive as raw bytes; the byte-level alphabet maps each
// byte to its initial symbol.
#pragma once

#include <array>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace visrl::policy {

// Hashing with string_view lookups into maps keyed by std::string.
struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
};
using TokenMap = std::unordered_map<std::string, int32_t, StringHash, std::equal_to<>>;

class Bpe {
 public:
  struct Merge {
    int32_t rank;
    int32_t id;  // the merged token
  };

  // vocab: token -> id; merges: pairs of token strings in rank order. `where` names the JSON
  // (e.g. "tokenizer.json: model") in errors. Throws visrl::Error (ErrorKind::format).
  Bpe(TokenMap vocab, const std::vector<std::pair<std::string, std::string>>& merges,
      std::optional<std::string> unk_token, bool fuse_unk, bool ignore_merges, std::string_view where);

  // Appends the ids of one pre-tokenized word (raw bytes, before the byte-level mapping).
  void encode_word(std::string_view word, std::vector<int32_t>& out) const;

  // The two merge loops, exposed so that tests can check they agree: the linear one rescans the
  // pair ranks (fast for short words), the heap one is O(n log n) for long words.
  std::vector<int32_t> merge_linear(std::vector<int32_t> symbols) const;
  std::vector<int32_t> merge_heap(std::vector<int32_t> symbols) const;

  const TokenMap& vocab() const { return vocab_; }

 private:
  std::vector<int32_t> tokenize_uncached(std::string_view word) const;
  const Merge* find_merge(int32_t left, int32_t right) const {
    const auto it = merges_.find(key(left, right));
    return it == merges_.end() ? nullptr : &it->second;
  }
  static uint64_t key(int32_t a, int32_t b) {
    return (static_cast<uint64_t>(static_cast<uint32_t>(a)) << 32) | static_cast<uint32_t>(b);
  }

  TokenMap vocab_;
  std::unordered_map<uint64_t, Merge> merges_;
  std::array<int32_t, 256> byte_ids_{};  // initial symbol of each byte, -1 when not in the vocab
  std::optional<int32_t> unk_id_;
  bool fuse_unk_ = false;
  bool ignore_merges_ = false;

  // Words seen before: most text repeats a small set of words. Bounded so that memory stays flat.
  static constexpr size_t kCacheCapacity = 1 << 17;
  static constexpr size_t kCacheMaxWordBytes = 64;
  mutable std::mutex cache_mutex_;
  mutable std::unordered_map<std::string, std::vector<int32_t>, StringHash, std::equal_to<>> cache_;
};

}  // namespace visrl::policy
