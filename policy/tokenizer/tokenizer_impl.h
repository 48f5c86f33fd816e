// The parts of a loaded tokenizer (internal to policy/tokenizer).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "policy/tokenizer/added_tokens.h"
#include "policy/tokenizer/bpe.h"
#include "policy/tokenizer/normalizer.h"
#include "policy/tokenizer/pretokenizer.h"
#include "policy/tokenizer/tokenizer.h"

namespace visrl::policy {

struct Tokenizer::Impl {
  std::string name;  // the file, for messages
  Normalizer normalizer;
  std::vector<RegexSplitter> splits;  // Split pre-tokenizers, each applied to every piece of the last
  // The ByteLevel pre-tokenizer: an optional space before every piece, then its own GPT-2 regex
  // split when use_regex is true, then the byte mapping (done by the model on raw bytes).
  bool add_prefix_space = false;
  std::optional<RegexSplitter> byte_level_regex;
  std::optional<Bpe> model;
  AddedTokenMatcher raw_added;         // normalized = false: matched on the input
  AddedTokenMatcher normalized_added;  // normalized = true: matched after normalization
  TokenMap added_map;                  // content -> id of the added tokens
  // Per id: its token string, the bytes it decodes to, and whether it exists / is special.
  std::vector<std::string> id_token;
  std::vector<std::string> id_bytes;
  std::vector<char> id_present;
  std::vector<char> id_special;
  int32_t distinct_tokens = 0;

  void encode_text(std::string_view text, std::vector<int32_t>& out) const;  // after added tokens
};

// Parses tokenizer.json (sections: normalizer, pre_tokenizer, model, decoder, added_tokens).
std::shared_ptr<Tokenizer::Impl> parse_tokenizer_json(std::string_view json, std::string_view name);

}  // namespace visrl::policy
