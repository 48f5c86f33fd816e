// The tolerant JSON reader: strict JSON reads exactly as nlohmann::json::parse reads it (the
// reference), each repair is counted, truncated text keeps what was complete.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "reward/parser/tolerant_json.h"

namespace visrl::reward::tolerant_json {
namespace {

using json = nlohmann::json;

const json kCut = std::string(kCutKey);

TEST(TolerantJson, ReadsStrictJsonLikeNlohmann) {
  const std::vector<std::string> documents = {
      "0",
      "-0",
      "1.5e3",
      "-12.25E-2",
      "18446744073709551615",
      "-9223372036854775808",
      "123456789012345678901234567890",
      "1e-400",
      R"("\u00e9\ud83d\ude00 \/\b\f\n\r\t \"\\")",
      "[]",
      "{}",
      "[1,[2,[3,[]]]]",
      R"({"a":{"b":null},"c":[true,false],"":""})",
      " \t\n{\"k\" : [true , false,null ]}\r\n ",
      R"({"a":1,"a":2})",
      "\"\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80\"",
      R"("\u0000")",
  };
  for (const auto& doc : documents) {
    SCOPED_TRACE(doc);
    ASSERT_TRUE(json::accept(doc));
    const Result r = parse(doc);
    ASSERT_TRUE(r.ok) << r.error;
    EXPECT_EQ(r.total_fixes(), 0);
    EXPECT_EQ(r.value, json::parse(doc));
    EXPECT_EQ(r.end, doc.find_last_not_of(" \t\r\n") + 1);
  }
}

TEST(TolerantJson, StopsAfterTheValue) {
  const Result r = parse(R"({"a": 1} and then prose {"b": 2})");
  ASSERT_TRUE(r.ok);
  EXPECT_EQ(r.value, json::parse(R"({"a": 1})"));
  EXPECT_EQ(r.end, 8u);
}

struct FixCase {
  std::string text;
  Fix fix;
  int count;
  json expected;
};

TEST(TolerantJson, RepairsAndCountsEachFix) {
  const std::vector<FixCase> cases = {
      {"[1,2,]", Fix::trailing_comma, 1, json::parse("[1,2]")},
      {R"({"a": [1,], "b": 2,})", Fix::trailing_comma, 2, json::parse(R"({"a": [1], "b": 2})")},
      {R"({'a': 'it's', 'b': "c"})", Fix::single_quotes, 3, json::parse(R"({"a": "it's", "b": "c"})")},
      {R"(['say "hi"', 'x\'y'])", Fix::single_quotes, 2, json::parse(R"(["say \"hi\"", "x'y"])")},
      {"[True, False, None]", Fix::python_literal, 3, json::parse("[true, false, null]")},
      {"[NaN, -Infinity, Infinity]", Fix::non_finite, 3, json::parse("[null, null, null]")},
      {"[1, // one\n 2 /* two */, 3]", Fix::comment, 2, json::parse("[1, 2, 3]")},
      {"[+1, 01, 1., .5]", Fix::number_format, 4, json::parse("[1, 1, 1.0, 0.5]")},
      {"\"a\nb\tc\"", Fix::control_character, 2, json("a\nb\tc")},
      {R"("\x41\q")", Fix::bad_escape, 2, json("\\x41\\q")},
      {R"("\ud800x\udc00")", Fix::bad_escape, 2, json("\xEF\xBF\xBDx\xEF\xBF\xBD")},
      {R"("\u12g4")", Fix::bad_escape, 1, json("\\u12g4")},
      {"\"a\xFF\xC3(\xE0\x80\x80\"", Fix::invalid_utf8, 5,
       json("a\xEF\xBF\xBD\xEF\xBF\xBD(\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD")},
      {R"([{"a": 1} {"b": 2}])", Fix::missing_comma, 1, json::parse(R"([{"a": 1}, {"b": 2}])")},
      {R"({"a": 1 "b": 2})", Fix::missing_comma, 1, json::parse(R"({"a": 1, "b": 2})")},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.text);
    const Result r = parse(c.text);
    ASSERT_TRUE(r.ok) << r.error;
    EXPECT_EQ(r.count(c.fix), c.count);
    EXPECT_EQ(r.total_fixes(), c.count);
    EXPECT_EQ(r.value, c.expected);
  }
}

TEST(TolerantJson, ClosesTruncatedTextAndMarksCutObjects) {
  struct Cut {
    std::string text;
    json expected;
  };
  const std::vector<Cut> cases = {
      {R"({"a": [1, 2)", json{{"a", {1, 2}}, {kCut, true}}},
      {R"([{"a": 1}, {"b": )", json::array({json{{"a", 1}}, json{{kCut, true}}})},
      {R"([{"a": 1}, {"b": "hal)", json::array({json{{"a", 1}}, json{{"b", "hal"}, {kCut, true}}})},
      {R"({"a": 1, "ke)", json{{"a", 1}, {kCut, true}}},
      {R"(["abc)", json::array({"abc"})},
      {R"(["a\)", json::array({"a"})},
      {R"(["a\u00)", json::array({"a"})},
      {R"([1, tr)", json::array({1})},
      {"[1, /* open comment", json::array({1})},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.text);
    const Result r = parse(c.text);
    ASSERT_TRUE(r.ok) << r.error;
    EXPECT_EQ(r.count(Fix::truncated), 1);
    EXPECT_EQ(r.value, c.expected);
    EXPECT_EQ(r.end, c.text.size());
  }
}

TEST(TolerantJson, ReportsWhatIsWrongAndWhere) {
  struct Bad {
    std::string text;
    std::string error;
    size_t at;
  };
  const std::vector<Bad> cases = {
      {R"({"a" 1})", "expected ':' but found '1'", 5},
      {"[1 }", "expected ',' or ']' but found '}'", 3},
      {R"({"a": 1 ])", "expected ',' or '}' but found ']'", 8},
      {"{1: 2}", "expected a quoted key but found '1'", 1},
      {"@", "unexpected '@'", 0},
      {"[1, \x01]", "unexpected byte 0x01", 4},
      {"[nul]", "unexpected word \"nul\"", 1},
      {"[1e]", "bad number \"1e\"", 1},
      {"", "no JSON value", 0},
      {"  // only a comment", "no JSON value", 19},
      {"tru", "no JSON value", 3},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.text);
    const Result r = parse(c.text);
    EXPECT_FALSE(r.ok);
    EXPECT_EQ(r.error, c.error);
    EXPECT_EQ(r.end, c.at);
  }
}

TEST(TolerantJson, CapsNesting) {
  const std::string ok = std::string(64, '[') + std::string(64, ']');
  const Result fine = parse(ok);
  ASSERT_TRUE(fine.ok) << fine.error;
  EXPECT_EQ(fine.value, json::parse(ok));

  const std::string deep = std::string(65, '[') + std::string(65, ']');
  const Result r = parse(deep);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.error, "nested deeper than 64 levels");
  EXPECT_EQ(r.end, 64u);

  const Result objects = parse(std::string(100000, '{'));
  EXPECT_FALSE(objects.ok);
  EXPECT_EQ(objects.error, "expected a quoted key but found '{'");

  const Result custom = parse("[[[1]]]", 2);
  EXPECT_EQ(custom.error, "nested deeper than 2 levels");
}

TEST(TolerantJson, CapsTheNumberOfValues) {
  const Result fine = parse("[1,1,1]", kMaxDepth, 4);
  ASSERT_TRUE(fine.ok) << fine.error;
  EXPECT_FALSE(fine.too_many_values);
  const Result r = parse("[1,1,1,1]", kMaxDepth, 4);  // the list is a value too
  EXPECT_FALSE(r.ok);
  EXPECT_TRUE(r.too_many_values);
  EXPECT_EQ(r.error, "more than 4 values");
  EXPECT_EQ(r.end, 7u);
}

TEST(TolerantJson, OutOfRangeNumbers) {
  const Result big = parse("[1e400, -1e400, 1e-400, 100000000000000000000000, " + std::string(400, '1') +
                           "e-10, 0.000" + std::string(400, '0') + "1e+10]");
  ASSERT_TRUE(big.ok) << big.error;
  EXPECT_EQ(big.count(Fix::non_finite), 3);  // overflow only: nlohmann rejects it, accepts underflow
  EXPECT_EQ(big.total_fixes(), 3);
  const auto v = [&](size_t i) { return big.value[i].get<double>(); };
  EXPECT_TRUE(std::isinf(v(0)) && v(0) > 0);
  EXPECT_TRUE(std::isinf(v(1)) && v(1) < 0);
  EXPECT_EQ(v(2), 0.0);
  EXPECT_EQ(v(3), 1e23);
  EXPECT_TRUE(std::isinf(v(4)) && v(4) > 0);  // 1e389: a long mantissa outweighs the negative exponent
  EXPECT_EQ(v(5), 0.0);                       // 1e-394
}

TEST(TolerantJson, FixNamesAreDistinct) {
  std::vector<std::string_view> names;
  for (size_t k = 0; k < kFixKinds; ++k) names.push_back(fix_name(static_cast<Fix>(k)));
  std::sort(names.begin(), names.end());
  EXPECT_EQ(std::adjacent_find(names.begin(), names.end()), names.end());
  EXPECT_EQ(std::count(names.begin(), names.end(), "?"), 0);
}

}  // namespace
}  // namespace visrl::reward::tolerant_json
