// Reading tokenizer.json into Tokenizer::Impl. Every unsupported setting is an error that names
// its key: silently tokenizing differently from HF would corrupt training data.
#include <algorithm>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "policy/tokenizer/byte_level.h"
#include "policy/tokenizer/tokenizer_impl.h"

namespace visrl::policy {
namespace {

using nlohmann::json;

// Accessors that name the file and the key path in their errors.
struct Reader {
  std::string_view file;

  [[noreturn]] void error(std::string_view key, std::string_view what) const {
    fail(ErrorKind::format, "{}: {}: {}", file, key, what);
  }
  const json& member(const json& obj, std::string_view key, std::string_view path) const {
    const auto it = obj.find(key);
    if (it == obj.end()) error(path, "missing");
    return *it;
  }
  std::string string(const json& obj, std::string_view key, std::string_view path) const {
    const json& v = member(obj, key, path);
    if (!v.is_string()) error(path, fmt::format("expected a string, got {}", v.type_name()));
    return v.get<std::string>();
  }
  bool boolean(const json& obj, std::string_view key, std::string_view path, bool fallback) const {
    const auto it = obj.find(key);
    if (it == obj.end() || it->is_null()) return fallback;
    if (!it->is_boolean()) error(path, fmt::format("expected true or false, got {}", it->type_name()));
    return it->get<bool>();
  }
  std::string type(const json& obj, std::string_view path) const {
    if (!obj.is_object()) error(path, fmt::format("expected an object, got {}", obj.type_name()));
    return string(obj, "type", fmt::format("{}.type", path));
  }
};

void read_normalizer(const Reader& r, const json& node, std::string_view path, Tokenizer::Impl& impl) {
  if (node.is_null()) return;
  const std::string type = r.type(node, path);
  if (type == "NFC") {
    impl.normalizer = Normalizer(Normalizer::Kind::nfc);
  } else if (type == "Sequence") {
    const json& list = r.member(node, "normalizers", fmt::format("{}.normalizers", path));
    if (!list.is_array()) r.error(fmt::format("{}.normalizers", path), "expected an array");
    for (size_t i = 0; i < list.size(); ++i)
      read_normalizer(r, list[i], fmt::format("{}.normalizers[{}]", path, i), impl);
  } else {
    r.error(fmt::format("{}.type", path), fmt::format("unsupported '{}' (supported: NFC, Sequence)", type));
  }
}

void read_pre_tokenizer(const Reader& r, const json& node, std::string_view path, Tokenizer::Impl& impl,
                        bool& have_byte_level) {
  const std::string type = r.type(node, path);
  if (have_byte_level) r.error(path, "a pre-tokenizer after ByteLevel is not supported");
  if (type == "Sequence") {
    const json& list = r.member(node, "pretokenizers", fmt::format("{}.pretokenizers", path));
    if (!list.is_array()) r.error(fmt::format("{}.pretokenizers", path), "expected an array");
    for (size_t i = 0; i < list.size(); ++i) {
      read_pre_tokenizer(r, list[i], fmt::format("{}.pretokenizers[{}]", path, i), impl, have_byte_level);
    }
  } else if (type == "Split") {
    const std::string behavior = r.string(node, "behavior", fmt::format("{}.behavior", path));
    if (behavior != "Isolated") {
      r.error(fmt::format("{}.behavior", path), fmt::format("unsupported '{}' (supported: Isolated)", behavior));
    }
    if (r.boolean(node, "invert", fmt::format("{}.invert", path), false)) {
      r.error(fmt::format("{}.invert", path), "unsupported true");
    }
    const json& pattern = r.member(node, "pattern", fmt::format("{}.pattern", path));
    const std::string where = fmt::format("{}: {}.pattern", r.file, path);
    if (pattern.is_object() && pattern.contains("Regex")) {
      impl.splits.emplace_back(r.string(pattern, "Regex", fmt::format("{}.pattern.Regex", path)), false, where);
    } else if (pattern.is_object() && pattern.contains("String")) {
      impl.splits.emplace_back(r.string(pattern, "String", fmt::format("{}.pattern.String", path)), true, where);
    } else {
      r.error(fmt::format("{}.pattern", path), "expected {\"Regex\": ...} or {\"String\": ...}");
    }
  } else if (type == "ByteLevel") {
    have_byte_level = true;
    impl.add_prefix_space = r.boolean(node, "add_prefix_space", fmt::format("{}.add_prefix_space", path), true);
    if (r.boolean(node, "use_regex", fmt::format("{}.use_regex", path), true)) {
      impl.byte_level_regex.emplace(kGpt2SplitPattern, false, fmt::format("{}: {}", r.file, path));
    }
  } else {
    r.error(fmt::format("{}.type", path),
            fmt::format("unsupported '{}' (supported: Sequence, Split, ByteLevel)", type));
  }
}

std::vector<std::pair<std::string, std::string>> read_merges(const Reader& r, const json& merges) {
  if (!merges.is_array()) r.error("model.merges", "expected an array");
  std::vector<std::pair<std::string, std::string>> out;
  out.reserve(merges.size());
  for (size_t i = 0; i < merges.size(); ++i) {
    const json& m = merges[i];
    if (m.is_string()) {
      // "a b": byte-level tokens never contain a raw space, so the first space separates them.
      const auto& s = m.get_ref<const std::string&>();
      const size_t space = s.find(' ');
      if (space == std::string::npos || s.find(' ', space + 1) != std::string::npos) {
        r.error(fmt::format("model.merges[{}]", i), fmt::format("expected \"left right\", got \"{}\"", s));
      }
      out.emplace_back(s.substr(0, space), s.substr(space + 1));
    } else if (m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string()) {
      out.emplace_back(m[0].get<std::string>(), m[1].get<std::string>());
    } else {
      r.error(fmt::format("model.merges[{}]", i), "expected \"left right\" or [left, right]");
    }
  }
  return out;
}

void read_model(const Reader& r, const json& node, Tokenizer::Impl& impl) {
  const std::string type = r.type(node, "model");
  if (type != "BPE") r.error("model.type", fmt::format("unsupported '{}' (supported: BPE)", type));
  if (const auto it = node.find("dropout"); it != node.end() && !it->is_null() && it->get<double>() != 0.0) {
    r.error("model.dropout", "BPE dropout is not supported");
  }
  for (const char* key : {"continuing_subword_prefix", "end_of_word_suffix"}) {
    if (const auto it = node.find(key); it != node.end() && !it->is_null() && *it != "") {
      r.error(fmt::format("model.{}", key), "unsupported (byte-level BPE has none)");
    }
  }
  if (r.boolean(node, "byte_fallback", "model.byte_fallback", false)) {
    r.error("model.byte_fallback", "unsupported true");
  }
  std::optional<std::string> unk;
  if (const auto it = node.find("unk_token"); it != node.end() && !it->is_null()) {
    if (!it->is_string()) r.error("model.unk_token", "expected a string or null");
    unk = it->get<std::string>();
  }
  const json& vocab_json = r.member(node, "vocab", "model.vocab");
  if (!vocab_json.is_object()) r.error("model.vocab", "expected an object");
  TokenMap vocab;
  vocab.reserve(vocab_json.size());
  for (const auto& [token, id] : vocab_json.items()) {
    if (!id.is_number_integer() || id.get<int64_t>() < 0 || id.get<int64_t>() > INT32_MAX) {
      r.error(fmt::format("model.vocab[\"{}\"]", token), "expected a non-negative integer id");
    }
    vocab.emplace(token, id.get<int32_t>());
  }
  const auto merges = read_merges(r, r.member(node, "merges", "model.merges"));
  impl.model.emplace(std::move(vocab), merges, unk, r.boolean(node, "fuse_unk", "model.fuse_unk", false),
                     r.boolean(node, "ignore_merges", "model.ignore_merges", false), fmt::format("{}: model", r.file));
}

void read_decoder(const Reader& r, const json& node) {
  if (node.is_null()) r.error("decoder", "missing (a ByteLevel decoder is required)");
  const std::string type = r.type(node, "decoder");
  if (type != "ByteLevel") r.error("decoder.type", fmt::format("unsupported '{}' (supported: ByteLevel)", type));
}

void read_added_tokens(const Reader& r, const json& list, Tokenizer::Impl& impl) {
  if (!list.is_array()) r.error("added_tokens", "expected an array");
  std::vector<AddedToken> raw, normalized;
  std::vector<std::string> raw_patterns, normalized_patterns;
  for (size_t i = 0; i < list.size(); ++i) {
    const std::string path = fmt::format("added_tokens[{}]", i);
    const json& t = list[i];
    if (!t.is_object()) r.error(path, "expected an object");
    AddedToken token;
    const json& id = r.member(t, "id", path + ".id");
    if (!id.is_number_integer() || id.get<int64_t>() < 0 || id.get<int64_t>() > INT32_MAX) {
      r.error(path + ".id", "expected a non-negative integer");
    }
    token.id = id.get<int32_t>();
    token.content = r.string(t, "content", path + ".content");
    if (token.content.empty()) r.error(path + ".content", "empty");
    token.single_word = r.boolean(t, "single_word", path + ".single_word", false);
    token.lstrip = r.boolean(t, "lstrip", path + ".lstrip", false);
    token.rstrip = r.boolean(t, "rstrip", path + ".rstrip", false);
    token.special = r.boolean(t, "special", path + ".special", false);
    token.normalized = r.boolean(t, "normalized", path + ".normalized", !token.special);
    impl.added_map[token.content] = token.id;
    if (token.normalized) {
      normalized_patterns.push_back(impl.normalizer.apply(token.content));
      normalized.push_back(std::move(token));
    } else {
      raw_patterns.push_back(token.content);
      raw.push_back(std::move(token));
    }
  }
  impl.raw_added = AddedTokenMatcher(std::move(raw), std::move(raw_patterns));
  impl.normalized_added = AddedTokenMatcher(std::move(normalized), std::move(normalized_patterns));
}

void build_id_tables(const json& added, Tokenizer::Impl& impl) {
  const TokenMap& vocab = impl.model->vocab();
  int32_t max_id = -1;
  for (const auto& [token, id] : vocab) max_id = std::max(max_id, id);
  for (const auto& [token, id] : impl.added_map) max_id = std::max(max_id, id);
  const auto n = static_cast<size_t>(max_id + 1);
  impl.id_token.assign(n, {});
  impl.id_present.assign(n, 0);
  impl.id_special.assign(n, 0);
  for (const auto& [token, id] : vocab) {
    impl.id_token[static_cast<size_t>(id)] = token;
    impl.id_present[static_cast<size_t>(id)] = 1;
  }
  // Added tokens take precedence over the model for id -> token, as in HF.
  for (const json& t : added) {
    const auto id = static_cast<size_t>(t["id"].get<int32_t>());
    impl.id_token[id] = t["content"].get<std::string>();
    impl.id_present[id] = 1;
    impl.id_special[id] = t.value("special", false) ? 1 : 0;
  }
  impl.id_bytes.resize(n);
  for (size_t i = 0; i < n; ++i) {
    if (impl.id_present[i]) impl.id_bytes[i] = byte_level::token_bytes(impl.id_token[i]);
  }
  // len(tokenizer) counts distinct token strings of the model and the added vocabulary.
  size_t distinct = vocab.size();
  for (const auto& [token, id] : impl.added_map) {
    if (vocab.find(token) == vocab.end()) ++distinct;
  }
  impl.distinct_tokens = static_cast<int32_t>(distinct);
}

}  // namespace

std::shared_ptr<Tokenizer::Impl> parse_tokenizer_json(std::string_view text, std::string_view name) {
  json root;
  try {
    root = json::parse(text);
  } catch (const json::parse_error& e) {
    fail(ErrorKind::format, "{}: invalid JSON at byte {}: {}", name, e.byte, e.what());
  }
  const Reader r{name};
  if (!root.is_object()) r.error("(root)", "expected an object");
  auto impl = std::make_shared<Tokenizer::Impl>();
  impl->name = std::string(name);
  try {
    read_normalizer(r, root.value("normalizer", json()), "normalizer", *impl);
    const json& pre = r.member(root, "pre_tokenizer", "pre_tokenizer");
    if (pre.is_null()) r.error("pre_tokenizer", "null (a ByteLevel pre-tokenizer is required)");
    bool have_byte_level = false;
    read_pre_tokenizer(r, pre, "pre_tokenizer", *impl, have_byte_level);
    if (!have_byte_level) r.error("pre_tokenizer", "no ByteLevel pre-tokenizer (only byte-level BPE is supported)");
    read_model(r, r.member(root, "model", "model"), *impl);
    read_decoder(r, root.value("decoder", json()));
    const json added = root.value("added_tokens", json::array());
    read_added_tokens(r, added, *impl);
    build_id_tables(added, *impl);
  } catch (const json::exception& e) {
    // Wrong JSON types deep inside (e.g. a string where a number belongs).
    fail(ErrorKind::format, "{}: unexpected JSON content: {}", name, e.what());
  }
  return impl;
}

}  // namespace visrl::policy
