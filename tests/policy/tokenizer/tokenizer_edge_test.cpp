// Edge cases and errors of the tokenizer, on the tiny fixture tokenizer.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "policy/tokenizer/bpe.h"
#include "policy/tokenizer/byte_level.h"
#include "policy/tokenizer/pretokenizer.h"
#include "policy/tokenizer/tokenizer.h"
#include "policy/tokenizer/utf8.h"
#include "tests/policy/tokenizer/fixtures.h"
#include "tests/test_util.h"

namespace visrl::policy {
namespace {

using test::fixture_dir;
using ::testing::HasSubstr;

const Tokenizer& tiny() {
  static const Tokenizer tok = Tokenizer::from_file(fixture_dir() / "tiny/tokenizer.json");
  return tok;
}

nlohmann::json tiny_json() {
  std::ifstream in(fixture_dir() / "tiny/tokenizer.json");
  return nlohmann::json::parse(in);
}

TEST(TokenizerEdge, EmptyStringGivesNoIds) {
  EXPECT_TRUE(tiny().encode("").empty());
  EXPECT_EQ(tiny().decode(std::vector<int32_t>{}), "");
}

TEST(TokenizerEdge, OnlySpecialTokens) {
  const Tokenizer& t = tiny();
  const auto ids = t.encode("<|im_start|><|im_end|><|endoftext|><|image_pad|>");
  const std::vector<int32_t> want = {*t.token_to_id("<|im_start|>"), *t.token_to_id("<|im_end|>"),
                                     *t.token_to_id("<|endoftext|>"), *t.token_to_id("<|image_pad|>")};
  EXPECT_EQ(ids, want);
  EXPECT_EQ(t.decode(ids), "<|im_start|><|im_end|><|endoftext|><|image_pad|>");
  EXPECT_EQ(t.decode(ids, true), "");
}

TEST(TokenizerEdge, LstripAndRstripTokensTakeTheirSpaces) {
  const Tokenizer& t = tiny();
  const int32_t mask = *t.token_to_id("<mask>");  // lstrip
  const int32_t rs = *t.token_to_id("<rs>");      // rstrip
  EXPECT_EQ(t.encode("   <mask>"), std::vector<int32_t>{mask});
  EXPECT_EQ(t.encode("<rs> \t\n"), std::vector<int32_t>{rs});
  const auto ids = t.encode("a <mask>");
  ASSERT_EQ(ids.size(), 2u);
  EXPECT_EQ(ids[1], mask);
  EXPECT_EQ(t.decode(ids), "a<mask>");
}

TEST(TokenizerEdge, SingleWordTokenOnlyMatchesAlone) {
  const Tokenizer& t = tiny();
  const int32_t sw = *t.token_to_id("<sw>");
  const auto alone = t.encode("a <sw> b");
  EXPECT_NE(std::find(alone.begin(), alone.end(), sw), alone.end());
  const auto glued = t.encode("a<sw>b");
  EXPECT_EQ(std::find(glued.begin(), glued.end(), sw), glued.end());
}

TEST(TokenizerEdge, NormalizedAddedTokenMatchesAfterNfc) {
  const Tokenizer& t = tiny();
  const int32_t cafe = *t.token_to_id("café");
  EXPECT_EQ(t.encode("cafe\u0301"), std::vector<int32_t>{cafe});
  EXPECT_EQ(t.encode("café"), std::vector<int32_t>{cafe});
}

TEST(TokenizerEdge, InvalidUtf8NamesTheByteOffset) {
  const std::string bad = std::string("ab\xC3") + "(";
  const std::string msg = visrl::test::expected_error([&] { tiny().encode(bad); });
  EXPECT_THAT(msg, HasSubstr("invalid UTF-8 at byte offset 2"));
  EXPECT_THAT(msg, HasSubstr("tiny/tokenizer.json"));
  EXPECT_THAT(visrl::test::expected_error([&] { tiny().encode("ok \xED\xA0\x80"); }),
              HasSubstr("byte offset 3"));  // a surrogate
  EXPECT_THAT(visrl::test::expected_error([&] { tiny().encode("\xC0\xAF"); }), HasSubstr("byte offset 0"));  // overlong
  EXPECT_THAT(visrl::test::expected_error([&] { tiny().encode("12345678\xF4\x90\x80\x80"); }),
              HasSubstr("byte offset 8"));
}

TEST(TokenizerEdge, DecodeOfUnknownIdIsAnErrorNamingIt) {
  const int32_t n = tiny().vocab_size();
  const std::vector<int32_t> ids = {5, n + 7};
  const std::string msg = visrl::test::expected_error([&] { tiny().decode(ids); });
  EXPECT_THAT(msg, HasSubstr(std::to_string(n + 7)));
  EXPECT_THAT(msg, HasSubstr("position 1"));
  EXPECT_THAT(visrl::test::expected_error([&] { tiny().decode(std::vector<int32_t>{-1}); }), HasSubstr("id -1"));
  EXPECT_THAT(visrl::test::expected_error([&] { tiny().id_to_token(n); }), HasSubstr(std::to_string(n)));
  EXPECT_TRUE(tiny().has_id(5));
  EXPECT_FALSE(tiny().has_id(n + 7));
  EXPECT_FALSE(tiny().has_id(-1));
}

TEST(TokenizerEdge, DecodeReplacesBrokenUtf8LikeHf) {
  const Tokenizer& t = tiny();
  // "é" is 0xC3 0xA9: each byte alone is its own byte-level token.
  const int32_t c3 = *t.token_to_id(byte_level::byte_to_unicode()[0xC3]);
  const int32_t a9 = *t.token_to_id(byte_level::byte_to_unicode()[0xA9]);
  const int32_t x = *t.token_to_id("x");
  EXPECT_EQ(t.decode(std::vector<int32_t>{c3, a9}), "é");
  EXPECT_EQ(t.decode(std::vector<int32_t>{c3, x}), "\uFFFDx");
  EXPECT_EQ(t.decode(std::vector<int32_t>{a9, a9}), "\uFFFD\uFFFD");
}

TEST(TokenizerEdge, MissingFileIsAnIoErrorNamingIt) {
  try {
    Tokenizer::from_file("/nonexistent/dir/tokenizer.json");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::io);
    EXPECT_THAT(e.what(), HasSubstr("/nonexistent/dir/tokenizer.json"));
  }
}

TEST(TokenizerEdge, CorruptJsonIsAFormatErrorNamingTheFile) {
  const auto path = std::filesystem::temp_directory_path() / "visrl_tok_corrupt_tokenizer.json";
  {
    std::ofstream out(path);
    out << R"({"model": {"type": "BPE", "vocab": {"a": 0}, )";
  }
  try {
    Tokenizer::from_file(path);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::format);
    EXPECT_THAT(e.what(), HasSubstr(path.string()));
    EXPECT_THAT(e.what(), HasSubstr("invalid JSON"));
  }
  std::filesystem::remove(path);
}

// A modified copy of the tiny tokenizer.json must fail naming `key`.
void expect_rejected(const nlohmann::json& j, const std::string& key) {
  try {
    Tokenizer::from_json(j.dump(), "mod/tokenizer.json");
    ADD_FAILURE() << "accepted; expected an error naming " << key;
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::format);
    EXPECT_THAT(e.what(), HasSubstr("mod/tokenizer.json"));
    EXPECT_THAT(e.what(), HasSubstr(key));
  }
}

TEST(TokenizerEdge, UnsupportedOrBrokenConfigurationsNameTheKey) {
  auto j = tiny_json();
  j["model"]["type"] = "WordPiece";
  expect_rejected(j, "model.type: unsupported 'WordPiece'");

  j = tiny_json();
  j["model"].erase("vocab");
  expect_rejected(j, "model.vocab: missing");

  j = tiny_json();
  j["model"]["merges"][3] = "nospace";
  expect_rejected(j, "model.merges[3]");

  j = tiny_json();
  j["model"]["merges"][5] = "zzzq qqqz";
  expect_rejected(j, "model.merges[5]: token 'zzzq' is not in model.vocab");

  j = tiny_json();
  j["model"]["byte_fallback"] = true;
  expect_rejected(j, "model.byte_fallback");

  j = tiny_json();
  j["normalizer"] = {{"type", "Lowercase"}};
  expect_rejected(j, "normalizer.type: unsupported 'Lowercase'");

  j = tiny_json();
  j["pre_tokenizer"]["pretokenizers"][0]["behavior"] = "Removed";
  expect_rejected(j, "pre_tokenizer.pretokenizers[0].behavior: unsupported 'Removed'");

  j = tiny_json();
  j["pre_tokenizer"]["pretokenizers"][0]["pattern"]["Regex"] = "(unclosed";
  expect_rejected(j, "pre_tokenizer.pretokenizers[0].pattern");

  j = tiny_json();
  j["pre_tokenizer"] = {{"type", "Whitespace"}};
  expect_rejected(j, "pre_tokenizer.type: unsupported 'Whitespace'");

  j = tiny_json();
  j["decoder"] = {{"type", "WordPiece"}};
  expect_rejected(j, "decoder.type: unsupported 'WordPiece'");

  j = tiny_json();
  j["added_tokens"][2].erase("content");
  expect_rejected(j, "added_tokens[2].content: missing");

  j = tiny_json();
  j["added_tokens"][0]["id"] = "x";
  expect_rejected(j, "added_tokens[0].id");
}

TEST(TokenizerEdge, ByteLevelPreTokenizerWithItsOwnRegexEqualsHf) {
  // GPT-2 style: ByteLevel(add_prefix_space=true, use_regex=true) alone, as generate.py recorded.
  auto j = tiny_json();
  j["pre_tokenizer"] = {
      {"type", "ByteLevel"}, {"add_prefix_space", true}, {"trim_offsets", false}, {"use_regex", true}};
  const auto gpt2 = Tokenizer::from_json(j.dump(), "gpt2-style");
  const auto corpus = test::read_corpus();
  const auto rows = test::read_jsonl(fixture_dir() / "expected_tiny_bytelevel_regex.jsonl");
  ASSERT_GE(rows.size(), 500u);
  size_t differs_from_qwen_split = 0;
  for (size_t i = 0; i < rows.size(); ++i) {
    const auto want = rows[i]["ids"].get<std::vector<int32_t>>();
    ASSERT_EQ(gpt2.encode(corpus[i]), want) << "string " << i << " " << nlohmann::json(corpus[i]).dump();
    if (want != tiny().encode(corpus[i])) ++differs_from_qwen_split;
  }
  EXPECT_GT(differs_from_qwen_split, 100u);  // the configuration really changed the split
}

TEST(TokenizerEdge, IgnoreMergesTakesWholeWordsFromTheVocabulary) {
  auto j = tiny_json();
  // A vocabulary entry that the merges would never build: with ignore_merges it wins.
  const std::string word = "Ġzzqq";
  j["model"]["vocab"][word] = 1990;  // reuse an id: only the encode path matters here
  j["model"]["ignore_merges"] = true;
  const auto t = Tokenizer::from_json(j.dump(), "ignore-merges");
  EXPECT_EQ(t.encode(" zzqq"), std::vector<int32_t>{1990});
  j["model"]["ignore_merges"] = false;
  const auto u = Tokenizer::from_json(j.dump(), "with-merges");
  EXPECT_NE(u.encode(" zzqq"), std::vector<int32_t>{1990});
}

TEST(TokenizerEdge, LinearAndHeapMergeLoopsAgree) {
  // The same word through both loops of the BPE model, on every corpus string's bytes.
  const auto j = tiny_json();
  TokenMap vocab;
  for (const auto& [k, v] : j["model"]["vocab"].items()) vocab.emplace(k, v.get<int32_t>());
  std::vector<std::pair<std::string, std::string>> merges;
  for (const auto& m : j["model"]["merges"]) {
    const auto s = m.get<std::string>();
    merges.emplace_back(s.substr(0, s.find(' ')), s.substr(s.find(' ') + 1));
  }
  const Bpe bpe(vocab, merges, std::nullopt, false, false, "tiny");
  size_t compared = 0;
  for (const std::string& s : test::read_corpus()) {
    std::vector<int32_t> sym;
    for (const char c : s) sym.push_back(vocab.at(byte_level::byte_to_unicode()[static_cast<unsigned char>(c)]));
    ASSERT_EQ(bpe.merge_linear(sym), bpe.merge_heap(sym)) << nlohmann::json(s).dump();
    ++compared;
  }
  EXPECT_GE(compared, 2000u);
}

TEST(TokenizerEdge, QwenSplitOfUnicodeSpacesEqualsHf) {
  // Pieces HF's Split(Qwen regex, Isolated).pre_tokenize_str gave (Oniguruma: U+0085 is \s,
  // U+180E / U+200B / U+001C are not).
  const std::string qwen =
      R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
  const RegexSplitter split(qwen, false, "test");
  const auto pieces = [&](std::string_view s) {
    std::vector<std::string_view> out;
    split.split(s, out);
    return std::vector<std::string>(out.begin(), out.end());
  };
  using V = std::vector<std::string>;
  EXPECT_EQ(pieces("a\u0085\u0085b"), (V{"a", "\u0085", "\u0085b"}));
  EXPECT_EQ(pieces("x \u0085 "), (V{"x", " \u0085 "}));
  EXPECT_EQ(pieces("a\u180e\u180eb"), (V{"a", "\u180e\u180e", "b"}));
  EXPECT_EQ(pieces("a\u200b\u200bb"), (V{"a", "\u200b\u200b", "b"}));
  EXPECT_EQ(pieces("a\x1c\x1c"
                   "b"),
            (V{"a", "\x1c\x1c", "b"}));
  EXPECT_EQ(pieces("I'M here"), (V{"I", "'M", " here"}));
}

TEST(TokenizerEdge, WhitespaceClassIsSpelledOut) {
  const std::string ws = R"(\t\n\x0B\f\r\x20\x85\xA0\x{1680}\x{2000}-\x{200A}\x{2028}\x{2029}\x{202F}\x{205F}\x{3000})";
  EXPECT_EQ(exact_whitespace_class(R"(\s+(?!\S))"), "[" + ws + "]+(?![^" + ws + "])");
  EXPECT_EQ(exact_whitespace_class(R"([^\s\p{L}])"), "[^" + ws + R"(\p{L}])");
  EXPECT_EQ(exact_whitespace_class(R"([\]\s]\\s)"), R"([\])" + ws + R"(]\\s)");
  EXPECT_THROW(exact_whitespace_class(R"([\S])"), Error);
}

TEST(TokenizerEdge, Utf8Lossy) {
  EXPECT_EQ(utf8::lossy("a\xF0\x9F\x98"), "a\uFFFD");            // a truncated 4-byte sequence: one U+FFFD
  EXPECT_EQ(utf8::lossy("\xE0\x80\x80"), "\uFFFD\uFFFD\uFFFD");  // overlong: every byte
  EXPECT_EQ(utf8::lossy("\xF0\x9F\x98\x80"), "\U0001F600");
}

TEST(TokenizerEdge, ConcurrentEncodesAgree) {
  const auto corpus = test::read_corpus();
  const Tokenizer t = Tokenizer::from_file(fixture_dir() / "tiny/tokenizer.json");  // a fresh, empty cache
  std::vector<std::vector<int32_t>> a(corpus.size()), b(corpus.size());
  std::thread th([&] {
    for (size_t i = 0; i < corpus.size(); ++i) a[i] = t.encode(corpus[i]);
  });
  for (size_t i = corpus.size(); i-- > 0;) b[i] = t.encode(corpus[i]);
  th.join();
  EXPECT_EQ(a, b);
}

}  // namespace
}  // namespace visrl::policy
