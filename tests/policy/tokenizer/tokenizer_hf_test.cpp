// Our ids and decodes against what HF `tokenizers` produced for the same files and strings.
#include <gtest/gtest.h>

#include "policy/tokenizer/tokenizer.h"
#include "tests/policy/tokenizer/fixtures.h"

namespace visrl::policy {
namespace {

using test::fixture_dir;
using test::read_corpus;
using test::read_jsonl;

std::string show(const std::vector<int32_t>& ids) {
  std::string s;
  for (const int32_t id : ids) s += std::to_string(id) + " ";
  return s;
}

// Compares every corpus string; returns how many were compared.
size_t compare_with_hf(const Tokenizer& tok, const std::filesystem::path& expected_path) {
  const auto corpus = read_corpus();
  const auto expected = read_jsonl(expected_path);
  EXPECT_EQ(corpus.size(), expected.size());
  EXPECT_GE(corpus.size(), 2000u);
  size_t id_mismatches = 0, decode_mismatches = 0;
  for (size_t i = 0; i < std::min(corpus.size(), expected.size()); ++i) {
    const std::string& s = corpus[i];
    const auto& row = expected[i];
    const auto want = row["ids"].get<std::vector<int32_t>>();
    const auto got = tok.encode(s);
    if (got != want && ++id_mismatches <= 10) {
      ADD_FAILURE() << "string " << i << " " << nlohmann::json(s).dump() << "\n  ours: " << show(got)
                    << "\n  HF:   " << show(want);
    }
    const std::string want_decode = row.contains("decode") ? row["decode"].get<std::string>() : s;
    const std::string want_skip = row.contains("decode_skip") ? row["decode_skip"].get<std::string>() : want_decode;
    const std::string got_decode = tok.decode(want);
    const std::string got_skip = tok.decode(want, true);
    if ((got_decode != want_decode || got_skip != want_skip) && ++decode_mismatches <= 10) {
      ADD_FAILURE() << "string " << i << " " << nlohmann::json(s).dump()
                    << "\n  decode ours: " << nlohmann::json(got_decode).dump()
                    << " HF: " << nlohmann::json(want_decode).dump()
                    << "\n  skip ours: " << nlohmann::json(got_skip).dump()
                    << " HF: " << nlohmann::json(want_skip).dump();
    }
    // Round trip: exact wherever HF's is (lstrip/rstrip tokens and NFC change the text).
    if (!row.contains("decode")) {
      EXPECT_EQ(tok.decode(got), s) << "string " << i;
    }
  }
  EXPECT_EQ(id_mismatches, 0u);
  EXPECT_EQ(decode_mismatches, 0u);
  return corpus.size();
}

void compare_random_decode(const Tokenizer& tok, const std::filesystem::path& path) {
  const auto rows = read_jsonl(path);
  ASSERT_GE(rows.size(), 100u);
  for (size_t i = 0; i < rows.size(); ++i) {
    const auto ids = rows[i]["ids"].get<std::vector<int32_t>>();
    EXPECT_EQ(tok.decode(ids), rows[i]["decode"].get<std::string>()) << "row " << i << " ids " << show(ids);
    EXPECT_EQ(tok.decode(ids, true), rows[i]["decode_skip"].get<std::string>()) << "row " << i;
  }
}

TEST(TokenizerHf, TinyIdsAndDecodesEqualHf) {
  const auto tok = Tokenizer::from_file(fixture_dir() / "tiny/tokenizer.json");
  const size_t n = compare_with_hf(tok, fixture_dir() / "expected_tiny.jsonl");
  RecordProperty("strings_compared", static_cast<int>(n));
  std::cout << "[tiny] compared " << n << " strings\n";
}

TEST(TokenizerHf, TinyPairMergesIdsEqualHf) {
  const auto tok = Tokenizer::from_file(fixture_dir() / "tiny-pair-merges/tokenizer.json");
  const size_t n = compare_with_hf(tok, fixture_dir() / "expected_tiny.jsonl");
  std::cout << "[tiny-pair-merges] compared " << n << " strings\n";
}

TEST(TokenizerHf, TinyRandomIdDecodesEqualHf) {
  const auto tok = Tokenizer::from_file(fixture_dir() / "tiny/tokenizer.json");
  compare_random_decode(tok, fixture_dir() / "decode_random_tiny.jsonl");
}

TEST(TokenizerHf, TinyVocabularyFacts) {
  const auto tok = Tokenizer::from_file(fixture_dir() / "tiny/tokenizer.json");
  EXPECT_EQ(tok.vocab_size(), 2021);  // len(AutoTokenizer) of the fixture
  const auto im_end = tok.token_to_id("<|im_end|>");
  ASSERT_TRUE(im_end.has_value());
  EXPECT_TRUE(tok.is_special(*im_end));
  EXPECT_EQ(tok.id_to_token(*im_end), "<|im_end|>");
  const auto think = tok.token_to_id("<think>");
  ASSERT_TRUE(think.has_value());
  EXPECT_FALSE(tok.is_special(*think));
  const auto space = tok.token_to_id("Ġ");  // the byte-level space
  ASSERT_TRUE(space.has_value());
  EXPECT_EQ(tok.decode(std::vector<int32_t>{*space, *space}), "  ");
  EXPECT_FALSE(tok.token_to_id("no such token at all").has_value());
  EXPECT_FALSE(tok.is_special(-1));
  EXPECT_FALSE(tok.is_special(1 << 30));
}

class QwenTokenizer : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (std::filesystem::exists(test::qwen_tokenizer_json())) {
      tok_ = new Tokenizer(Tokenizer::from_file(test::qwen_tokenizer_json()));
    }
  }
  static void TearDownTestSuite() {
    delete tok_;
    tok_ = nullptr;
  }
  void SetUp() override {
    if (tok_ == nullptr)
      GTEST_SKIP() << "the real Qwen tokenizer " << test::qwen_tokenizer_json()
                   << " is absent (the shared fixtures beside the source tree, or set VISRL_QWEN_TOKENIZER_DIR)";
    if (!std::filesystem::exists(fixture_dir() / "expected_qwen.jsonl")) {
      GTEST_SKIP() << fixture_dir() / "expected_qwen.jsonl"
                   << " is absent: run generate.py";
    }
  }
  static Tokenizer* tok_;
};
Tokenizer* QwenTokenizer::tok_ = nullptr;

TEST_F(QwenTokenizer, IdsAndDecodesEqualHf) {
  const size_t n = compare_with_hf(*tok_, fixture_dir() / "expected_qwen.jsonl");
  std::cout << "[qwen] compared " << n << " strings\n";
}

TEST_F(QwenTokenizer, RandomIdDecodesEqualHf) {
  compare_random_decode(*tok_, fixture_dir() / "decode_random_qwen.jsonl");
}

TEST_F(QwenTokenizer, ReferenceTokenIds) {
  // REFERENCE.md section 6.
  EXPECT_EQ(tok_->token_to_id("<|endoftext|>"), 151643);
  EXPECT_EQ(tok_->token_to_id("<|im_start|>"), 151644);
  EXPECT_EQ(tok_->token_to_id("<|im_end|>"), 151645);
  EXPECT_EQ(tok_->token_to_id("<|vision_start|>"), 151652);
  EXPECT_EQ(tok_->token_to_id("<|vision_end|>"), 151653);
  EXPECT_EQ(tok_->token_to_id("<|image_pad|>"), 151655);
  EXPECT_EQ(tok_->vocab_size(), 151669);
  const std::vector<int32_t> prompt = tok_->encode("<|im_start|>user\n<|vision_start|><|image_pad|><|vision_end|>");
  ASSERT_EQ(prompt.size(), 6u);
  EXPECT_EQ(prompt[0], 151644);
  EXPECT_EQ(prompt[3], 151652);
  EXPECT_EQ(prompt[4], 151655);
  EXPECT_EQ(prompt[5], 151653);
}

}  // namespace
}  // namespace visrl::policy
