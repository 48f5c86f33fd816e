// The pieces of the critic parser: where JSON is looked for, and how a category, a severity
// and a free text are read.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "render/render_types.h"
#include "reward/parser/critic_fields.h"
#include "reward/parser/json_candidates.h"

namespace visrl::reward {
namespace {

using json = nlohmann::json;

std::string_view slice(std::string_view text, TextRange r) {
  return text.substr(r.begin, r.end - r.begin);
}

TEST(SplitThink, AnswerFollowsTheLastClosingTag) {
  const std::string text = "<think>a</think>b<think>c</think>answer";
  const ThinkSplit s = split_think(text);
  EXPECT_EQ(slice(text, s.answer), "answer");
  EXPECT_EQ(slice(text, s.reasoning), "<think>a</think>b<think>c");
}

TEST(SplitThink, ClosingTagWithoutOpening) {
  const std::string text = "reasoning</think>\nanswer";
  const ThinkSplit s = split_think(text);
  EXPECT_EQ(slice(text, s.answer), "\nanswer");
  EXPECT_EQ(slice(text, s.reasoning), "reasoning");
}

TEST(SplitThink, UnclosedThinkBlock) {
  const std::string text = "answer<think>cut off";
  const ThinkSplit s = split_think(text);
  EXPECT_EQ(slice(text, s.answer), "answer");
  EXPECT_EQ(slice(text, s.reasoning), "cut off");
}

TEST(SplitThink, NoThinkBlock) {
  const ThinkSplit s = split_think("plain");
  EXPECT_EQ(s.answer, (TextRange{0, 5}));
  EXPECT_TRUE(s.reasoning.empty());
}

TEST(FindSegments, JsonFencesFirstThenOtherFencesThenProse) {
  const std::string text = "a```python\nx\n```b``` JSON\n{}\n```c```json";
  const auto segments = find_segments(text, {0, text.size()});
  std::vector<std::pair<Segment::Kind, std::string>> got;
  for (const auto& s : segments) got.emplace_back(s.kind, std::string(slice(text, s.range)));
  using K = Segment::Kind;
  const std::vector<std::pair<Segment::Kind, std::string>> expected = {{K::json_fence, "\n{}\n"}, {K::json_fence, ""},
                                                                       {K::other_fence, "\nx\n"}, {K::prose, "a"},
                                                                       {K::prose, "b"},           {K::prose, "c"}};
  EXPECT_EQ(got, expected);
}

TEST(FindSegments, StaysInsideTheRange) {
  const std::string text = "xx```json\n{\"a\": 1}\n```yy";
  const auto segments = find_segments(text, {2, 14});
  ASSERT_EQ(segments.size(), 1u);
  EXPECT_EQ(segments[0].kind, Segment::Kind::json_fence);
  EXPECT_EQ(slice(text, segments[0].range), "\n{\"a\"");
}

TEST(NextJsonStart, SkipsProseBrackets) {
  const std::string text = "see [1], f() { x; } then [ {\"a\": 1}] or {'b': 2} or {} or [] or [[";
  std::vector<size_t> starts;
  for (size_t p = next_json_start(text, 0, text.size()); p < text.size(); p = next_json_start(text, p + 1, text.size()))
    starts.push_back(p);
  EXPECT_EQ(starts, (std::vector<size_t>{text.find("[ {"), text.find("{\""), text.find("{'"), text.find("{}"),
                                         text.find("[]"), text.find("[[")}));
  EXPECT_EQ(next_json_start("{\"a\"", 0, 1), 1u);  // the quote lies outside the range
}

TEST(NormaliseCategory, Spellings) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"data_error", "data_error"},
      {"Data Error", "data_error"},
      {"data-error", "data_error"},
      {"Data", "data_error"},
      {"  text  ", "text_error"},
      {"TEXT_ERROR", "text_error"},
      {"DataError", "data_error"},
      {"textSymbolError", "text_symbol_error"},
      {"text symbol", "text_symbol_error"},
      {"Text/Symbol", "text_symbol_error"},
      {"style_errors", "style_error"},
      {"layout__error", "layout_error"},
      {"error", "error"},
      {"", ""},
      {"color", "color_error"},
      {"_numeric_", "numeric_error"},
  };
  for (const auto& [raw, expected] : cases) EXPECT_EQ(normalise_category(raw), expected) << raw;
  EXPECT_LE(normalise_category(std::string(10000, 'a')).size(), 70u);
}

TEST(ReadSeverity, ValuesRepairsAndProblems) {
  struct Case {
    json value;
    std::optional<int> level;
    bool repaired;
    std::string problem;
  };
  const std::vector<Case> cases = {
      {1, 1, false, ""},
      {3, 3, false, ""},
      {json(2u), 2, false, ""},
      {2.0, 2, true, ""},
      {"2", 2, true, ""},
      {" 3 ", 3, true, ""},
      {"2.0", 2, true, ""},
      {"Severity 3", 3, true, ""},
      {"severity: 1", 1, true, ""},
      {"Level-2", 2, true, ""},
      {"3 (severe)", 3, true, ""},
      {"2/3", 2, true, ""},
      {"Medium", 2, true, ""},
      {"moderate", 2, true, ""},
      {"minor", 1, true, ""},
      {"Low", 1, true, ""},
      {"severe", 3, true, ""},
      {"MAJOR", 3, true, ""},
      {"high", 3, true, ""},
      {"critical - wrong data", 3, true, ""},
      {0, std::nullopt, false, "severity 0 outside 1..3"},
      {4, std::nullopt, false, "severity 4 outside 1..3"},
      {-2, std::nullopt, false, "severity -2 outside 1..3"},
      {json(18446744073709551615u), std::nullopt, false, "severity 18446744073709551615 outside 1..3"},
      {2.5, std::nullopt, false, "severity 2.5 is not a whole number"},
      {4.0, std::nullopt, false, "severity 4 outside 1..3"},
      {"2.5", std::nullopt, false, "severity \"2.5\" is not a whole number"},
      {"7", std::nullopt, false, "severity \"7\" outside 1..3"},
      {"99999999999999999999999", std::nullopt, false, "severity \"99999999999999999999999\" outside 1..3"},
      {"lowest", std::nullopt, false, "unknown severity \"lowest\""},
      {"", std::nullopt, false, "unknown severity \"\""},
      {"severity", std::nullopt, false, "unknown severity \"severity\""},
      {nullptr, std::nullopt, false, "severity is null"},
      {true, std::nullopt, false, "severity is a boolean"},
      {json::array({2}), std::nullopt, false, "severity is an array"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.value.dump());
    const SeverityReading r = read_severity(c.value);
    EXPECT_EQ(r.value, c.level);
    EXPECT_EQ(r.repaired, c.repaired);
    EXPECT_EQ(r.problem, c.problem);
  }
}

TEST(FindField, CanonicalSynonymAndSpelling) {
  const json entry = json::parse(R"({"category": "a", "Desc": "b", "error_type": "c", "Where ": "d"})");
  Field f = find_field(entry, {"category", "type"}, {"error_type"});
  ASSERT_NE(f.value, nullptr);
  EXPECT_EQ(*f.value, "a");
  EXPECT_FALSE(f.repaired);
  f = find_field(entry, {"type"}, {"error_type"});
  EXPECT_EQ(*f.value, "c");
  EXPECT_TRUE(f.repaired);
  f = find_field(entry, {"description"}, {"desc"});
  EXPECT_EQ(*f.value, "b");
  EXPECT_TRUE(f.repaired);
  EXPECT_EQ(f.key, "Desc");
  f = find_field(entry, {"location"}, {"where"});
  EXPECT_EQ(*f.value, "d");
  EXPECT_EQ(find_field(entry, {"severity"}, {}).value, nullptr);
  EXPECT_EQ(find_field(json::array(), {"severity"}, {}).value, nullptr);
}

TEST(BoundedText, CutsAtCodePointsAndCleans) {
  bool cut = false;
  EXPECT_EQ(bounded_text("abc", 10, &cut), "abc");
  EXPECT_FALSE(cut);
  EXPECT_EQ(bounded_text("abcdef", 4, &cut), "abcd");
  EXPECT_TRUE(cut);
  EXPECT_EQ(bounded_text("a\xC3\xA9", 2, &cut), "a");  // é would be split
  EXPECT_EQ(bounded_text("a\xF0\x9F\x98\x80z", 4, &cut), "a");
  EXPECT_EQ(bounded_text("a\xF0\x9F\x98\x80z", 5, &cut), "a\xF0\x9F\x98\x80");
  EXPECT_EQ(bounded_text(std::string("a\0b\rc\nd\te\x7f", 10), 20, &cut), std::string("a b c\nd\te "));
  EXPECT_EQ(bounded_text("\xFF\xFF\xFF", 3, &cut), "\xEF\xBF\xBD");  // invalid bytes grow: cut again
  EXPECT_TRUE(cut);
  // Stray continuation bytes: render::sanitize_utf8 drops those at the start; valid and short either way.
  const std::string stray = bounded_text(std::string(10, '\x80'), 4, &cut);
  EXPECT_LE(stray.size(), 4u);
  EXPECT_EQ(render::sanitize_utf8(stray), stray);
}

TEST(TextOf, StringsKeptOtherValuesWritten) {
  bool converted = false, cut = false;
  EXPECT_EQ(text_of("bar 3", 100, &converted, &cut), "bar 3");
  EXPECT_FALSE(converted);
  EXPECT_EQ(text_of(nullptr, 100, &converted, &cut), "");
  EXPECT_FALSE(converted);
  EXPECT_EQ(text_of(3, 100, &converted, &cut), "3");
  EXPECT_TRUE(converted);
  EXPECT_EQ(text_of(json::array({"a", "b"}), 100, &converted, &cut), "a, b");
  EXPECT_EQ(text_of(json::array({"a", 1}), 100, &converted, &cut), "[\"a\",1]");
  EXPECT_EQ(text_of(json::parse(R"({"row": 2, "col": 3})"), 100, &converted, &cut), "{\"col\":3,\"row\":2}");
  EXPECT_EQ(text_of(json::array({std::string(50, 'x'), std::string(50, 'y')}), 60, &converted, &cut),
            std::string(50, 'x') + ", " + std::string(8, 'y'));
  EXPECT_TRUE(cut);
}

}  // namespace
}  // namespace visrl::reward
