// A Hugging Face tokenizer.json byte-level BPE tokenizer (the Qwen2/Qwen3/Qwen3-VL family and
// GPT-2-style files), giving the same ids as HF `tokenizers`:
//   added tokens split out -> NFC -> regex split -> byte-level map -> BPE merges.
// Configurations it does not implement are rejected when loading, naming the JSON key.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace visrl::policy {

class Tokenizer {
 public:
  // Throws visrl::Error (ErrorKind::io when the file cannot be read, ErrorKind::format when its
  // content is malformed or unsupported) naming the file and the JSON key.
  static Tokenizer from_file(const std::filesystem::path& tokenizer_json);
  // The same from the JSON text; `name` stands for the file in error messages.
  static Tokenizer from_json(std::string_view json, std::string_view name);

  // Like HF tokenizer.encode(text, add_special_tokens=False): added and special tokens present in
  // the text are recognised. Invalid UTF-8 throws visrl::Error naming the byte offset.
  // Thread-safe.
  std::vector<int32_t> encode(std::string_view text) const;

  // Like HF decode: byte-level decoding with invalid UTF-8 replaced by U+FFFD. An id that names
  // no token throws visrl::Error naming it and its position.
  std::string decode(std::span<const int32_t> ids, bool skip_special_tokens = false) const;

  std::optional<int32_t> token_to_id(std::string_view token) const;
  // Throws visrl::Error for an id that names no token.
  std::string id_to_token(int32_t id) const;
  // Like len(hf_tokenizer): the number of distinct tokens, base vocabulary plus added tokens.
  int32_t vocab_size() const;
  bool is_special(int32_t id) const;
  // Whether `id` names a token. A model's embedding table is often padded past the
  // tokenizer (Qwen3-VL: 151936 rows, 151669 tokens), so a sampled id may name none.
  bool has_id(int32_t id) const;

  struct Impl;

 private:
  explicit Tokenizer(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}
  std::shared_ptr<const Impl> impl_;  // immutable after loading (the word cache locks itself)
};

}  // namespace visrl::policy
