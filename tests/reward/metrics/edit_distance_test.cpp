// Edit distance against rapidfuzz (strings.json), a plain DP and hand-computed cases.
#include <algorithm>
#include <cstdint>
#include <iostream>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "reward/metrics/edit_distance.h"
#include "reward/metrics/levenshtein.h"
#include "tests/reward/metrics/metrics_test_util.h"

namespace visrl::reward {
namespace {

std::string from_hex(const std::string& hex) {
  std::string out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2)
    out.push_back(static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
  return out;
}

int64_t plain_levenshtein(const std::vector<char32_t>& a, const std::vector<char32_t>& b) {
  std::vector<int64_t> prev(b.size() + 1);
  std::vector<int64_t> cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = static_cast<int64_t>(j);
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = static_cast<int64_t>(i);
    for (size_t j = 1; j <= b.size(); ++j) {
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

TEST(EditDistance, MatchesRapidfuzzOnFixtures) {
  const nlohmann::json pairs = test::metrics_fixture("strings.json");
  ASSERT_GE(pairs.size(), 40u);
  for (const auto& p : pairs) {
    const std::string a = from_hex(p.at("a_hex"));
    const std::string b = from_hex(p.at("b_hex"));
    SCOPED_TRACE(p.at("a_hex").get<std::string>().substr(0, 40) + " / " +
                 p.at("b_hex").get<std::string>().substr(0, 40));
    EXPECT_EQ(to_code_points(a).size(), p.at("length_a").get<size_t>());
    EXPECT_EQ(to_code_points(b).size(), p.at("length_b").get<size_t>());
    EXPECT_EQ(edit_distance(a, b), p.at("distance").get<int64_t>());
    EXPECT_EQ(edit_distance(b, a), p.at("distance").get<int64_t>());
    EXPECT_NEAR(normalized_edit_distance(a, b), p.at("normalized").get<double>(), 1e-12);
    EXPECT_NEAR(edit_similarity(a, b), p.at("similarity").get<double>(), 1e-12);
  }
}

TEST(EditDistance, HandComputedCases) {
  EXPECT_EQ(edit_distance("", ""), 0);
  EXPECT_EQ(edit_distance("", "abc"), 3);
  EXPECT_EQ(edit_distance("kitten", "sitting"), 3);
  EXPECT_DOUBLE_EQ(edit_similarity("", ""), 1.0);
  EXPECT_DOUBLE_EQ(normalized_edit_distance("", ""), 0.0);
  EXPECT_DOUBLE_EQ(edit_similarity("abc", ""), 0.0);
  EXPECT_DOUBLE_EQ(normalized_edit_distance("", "abc"), 1.0);
  EXPECT_DOUBLE_EQ(edit_similarity("abcd", "abxd"), 0.75);
  // Code points, not bytes: one CJK character (3 bytes) replaced is one edit.
  EXPECT_EQ(edit_distance("表格", "表单"), 1);
  EXPECT_DOUBLE_EQ(edit_similarity("表格", "表单"), 0.5);
  // A combining accent is a code point of its own; the precomposed letter is another.
  EXPECT_EQ(edit_distance("e\u0301", "\u00e9"), 2);
}

TEST(EditDistance, InvalidBytesAreUnitsOfTheirOwn) {
  EXPECT_EQ(to_code_points("a\xff").size(), 2u);
  EXPECT_EQ(to_code_points("a\xff")[1], char32_t{0xDCFF});
  // A truncated sequence is one unit per byte; the valid character after it survives.
  EXPECT_EQ(to_code_points("\xe4\xb8"
                           "A"),
            (std::vector<char32_t>{0xDCE4, 0xDCB8, 'A'}));
  // Overlong "/" and an encoded surrogate are invalid.
  EXPECT_EQ(to_code_points("\xc0\xaf").size(), 2u);
  EXPECT_EQ(to_code_points("\xed\xa0\x80").size(), 3u);
  EXPECT_EQ(to_code_points("\xf0\x9f\x91\x8d"), (std::vector<char32_t>{0x1F44D}));
  // The byte 0xE4 is not the character U+00E4.
  EXPECT_EQ(edit_distance("\xe4", "\xc3\xa4"), 1);
  EXPECT_EQ(edit_distance("\xff\xfe", "\xff\xfe"), 0);
}

// The bit-parallel blocks against the plain DP on random sequences around the 64-unit block
// boundaries, with small alphabets (many matches) and non-ASCII symbols.
TEST(EditDistance, BitParallelMatchesPlainDp) {
  std::mt19937 rng(1234);
  const std::vector<char32_t> alphabet = {'a', 'b', 'c', 0x6570, 0x636E, 0x1F44D, 0xDCFF};
  for (int trial = 0; trial < 400; ++trial) {
    const size_t n = std::uniform_int_distribution<size_t>(0, 200)(rng);
    const size_t m = trial % 4 == 0 ? n : std::uniform_int_distribution<size_t>(0, 200)(rng);
    const size_t symbols = std::uniform_int_distribution<size_t>(1, alphabet.size())(rng);
    std::uniform_int_distribution<size_t> pick(0, symbols - 1);
    std::vector<char32_t> a(n);
    std::vector<char32_t> b(m);
    for (auto& c : a) c = alphabet[pick(rng)];
    for (auto& c : b) c = alphabet[pick(rng)];
    const int64_t expected = plain_levenshtein(a, b);
    ASSERT_EQ(LevenshteinPattern(a).distance(b), expected) << "n=" << n << " m=" << m;
    ASSERT_EQ(LevenshteinPattern(b).distance(a), expected) << "n=" << n << " m=" << m;
    ASSERT_EQ(levenshtein(a, b), expected);
  }
}

// Long answers: two 30,000-code-point texts (an 8k-token answer) that differ throughout.
TEST(EditDistance, LongTextsStayFast) {
  std::mt19937 rng(99);
  std::string a;
  std::string b;
  for (int i = 0; i < 30000; ++i) {
    a += rng() % 5 == 0 ? "数" : std::string(1, static_cast<char>('a' + rng() % 20));
    b += rng() % 5 == 0 ? "据" : std::string(1, static_cast<char>('a' + rng() % 20));
  }
  int64_t d = 0;
  const double ms = test::milliseconds_of([&] { d = edit_distance(a, b); });
  std::cout << "[ timing ] edit_distance of two 30000-code-point texts: " << ms << " ms\n";
  EXPECT_GT(d, 10000);
  EXPECT_LE(d, 30000);
  EXPECT_EQ(edit_distance(a, a), 0);
}

}  // namespace
}  // namespace visrl::reward
