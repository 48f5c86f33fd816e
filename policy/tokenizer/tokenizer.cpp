#include "policy/tokenizer/tokenizer.h"

#include "core/error.h"
#include "core/text_file.h"
#include "policy/tokenizer/tokenizer_impl.h"
#include "policy/tokenizer/utf8.h"

namespace visrl::policy {

Tokenizer Tokenizer::from_file(const std::filesystem::path& tokenizer_json) {
  return from_json(read_text_file(tokenizer_json, "the tokenizer"), tokenizer_json.string());
}

Tokenizer Tokenizer::from_json(std::string_view json, std::string_view name) {
  return Tokenizer(parse_tokenizer_json(json, name));
}

void Tokenizer::Impl::encode_text(std::string_view text, std::vector<int32_t>& out) const {
  // Thread-local scratch: encode() is hot and const; no allocation per call once warm.
  thread_local std::vector<std::string_view> pieces, next;
  pieces.clear();
  if (splits.empty()) {
    pieces.push_back(text);
  } else {
    splits[0].split(text, pieces);
    for (size_t s = 1; s < splits.size(); ++s) {
      next.clear();
      for (const auto piece : pieces) splits[s].split(piece, next);
      pieces.swap(next);
    }
  }
  if (!add_prefix_space && !byte_level_regex) {
    for (const auto piece : pieces) model->encode_word(piece, out);
    return;
  }
  std::string prefixed;
  std::vector<std::string_view> words;
  for (const auto piece : pieces) {
    std::string_view p = piece;
    if (add_prefix_space && (p.empty() || p[0] != ' ')) {
      prefixed = fmt::format(" {}", p);
      p = prefixed;
    }
    words.clear();
    if (byte_level_regex) {
      byte_level_regex->split(p, words);
    } else {
      words.push_back(p);
    }
    for (const auto w : words) model->encode_word(w, out);
  }
}

std::vector<int32_t> Tokenizer::encode(std::string_view text) const {
  const Impl& impl = *impl_;
  if (const auto bad = utf8::find_invalid(text)) {
    fail(ErrorKind::format, "{}: cannot encode: invalid UTF-8 at byte offset {} (byte 0x{:02X})", impl.name, *bad,
         static_cast<unsigned char>(text[*bad]));
  }
  std::vector<int32_t> out;
  out.reserve(text.size() / 3 + 4);
  std::vector<Piece> raw;
  if (impl.raw_added.empty()) {
    if (!text.empty()) raw.push_back(Piece{text, -1});
  } else {
    impl.raw_added.split(text, raw);
  }
  std::vector<Piece> normalized_pieces;
  for (const Piece& piece : raw) {
    if (piece.id >= 0) {
      out.push_back(piece.id);
      continue;
    }
    const std::string normalized = impl.normalizer.apply(piece.text);
    normalized_pieces.clear();
    if (impl.normalized_added.empty()) {
      normalized_pieces.push_back(Piece{normalized, -1});
    } else {
      impl.normalized_added.split(normalized, normalized_pieces);
    }
    for (const Piece& p : normalized_pieces) {
      if (p.id >= 0) {
        out.push_back(p.id);
      } else {
        impl.encode_text(p.text, out);
      }
    }
  }
  return out;
}

std::string Tokenizer::decode(std::span<const int32_t> ids, bool skip_special_tokens) const {
  const Impl& impl = *impl_;
  std::string bytes;
  bytes.reserve(ids.size() * 4);
  for (size_t i = 0; i < ids.size(); ++i) {
    const int32_t id = ids[i];
    if (id < 0 || static_cast<size_t>(id) >= impl.id_present.size() || !impl.id_present[static_cast<size_t>(id)]) {
      fail(ErrorKind::runtime, "{}: cannot decode: id {} at position {} is not in the vocabulary ({} tokens)",
           impl.name, id, i, impl.distinct_tokens);
    }
    if (skip_special_tokens && impl.id_special[static_cast<size_t>(id)]) continue;
    bytes.append(impl.id_bytes[static_cast<size_t>(id)]);
  }
  // Only a valid string is returned: broken byte sequences become U+FFFD as in HF.
  if (!utf8::find_invalid(bytes)) return bytes;
  return utf8::lossy(bytes);
}

std::optional<int32_t> Tokenizer::token_to_id(std::string_view token) const {
  if (const auto it = impl_->added_map.find(token); it != impl_->added_map.end()) return it->second;
  const TokenMap& vocab = impl_->model->vocab();
  if (const auto it = vocab.find(token); it != vocab.end()) return it->second;
  return std::nullopt;
}

std::string Tokenizer::id_to_token(int32_t id) const {
  if (id < 0 || static_cast<size_t>(id) >= impl_->id_present.size() || !impl_->id_present[static_cast<size_t>(id)]) {
    fail(ErrorKind::runtime, "{}: id {} is not in the vocabulary", impl_->name, id);
  }
  return impl_->id_token[static_cast<size_t>(id)];
}

bool Tokenizer::has_id(int32_t id) const {
  return id >= 0 && static_cast<size_t>(id) < impl_->id_present.size() && impl_->id_present[static_cast<size_t>(id)];
}

int32_t Tokenizer::vocab_size() const {
  return impl_->distinct_tokens;
}

bool Tokenizer::is_special(int32_t id) const {
  return id >= 0 && static_cast<size_t>(id) < impl_->id_special.size() && impl_->id_special[static_cast<size_t>(id)];
}

}  // namespace visrl::policy
